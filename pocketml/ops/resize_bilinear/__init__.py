"""RESIZE_BILINEAR of an [H, W, C] map (input and output share one quantization).

    op.py  resize_bilinear.c/.h  c.py  tflite.py  capture.py  test_resize_bilinear.py
"""

from pocketml.ops.resize_bilinear.c import c_params
from pocketml.ops.resize_bilinear.capture import CAPTURE, float_forward, from_float
from pocketml.ops.resize_bilinear.op import ResizeBilinear, ResizeBilinearData
from pocketml.ops.resize_bilinear.tflite import READ, write
from pocketml.ops.spec import SHARED, OpSpec

SPEC = OpSpec(
    "resize_bilinear",
    ResizeBilinear,
    c_kernel="resize_bilinear.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "ResizeBilinear", "ResizeBilinearData"]
