"""RESIZE_NEAREST_NEIGHBOR of an [H, W, C] map (input and output share one quantization).

    op.py  resize_nearest_neighbor.c/.h  c.py  tflite.py  capture.py  test_resize_nearest_neighbor.py
"""

from pocketml.ops.resize_nearest_neighbor.c import c_params
from pocketml.ops.resize_nearest_neighbor.capture import CAPTURE, float_forward, from_float
from pocketml.ops.resize_nearest_neighbor.op import ResizeNearestNeighbor, ResizeNearestNeighborData
from pocketml.ops.resize_nearest_neighbor.tflite import READ, write
from pocketml.ops.spec import SHARED, OpSpec

SPEC = OpSpec(
    "resize_nearest_neighbor",
    ResizeNearestNeighbor,
    c_kernel="resize_nearest_neighbor.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "ResizeNearestNeighbor", "ResizeNearestNeighborData"]
