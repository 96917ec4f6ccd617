"""MAX_POOL_2D: the largest int8 value in each window; input and output share quantization.

    op.py  max_pool2d.c/.h  c.py  tflite.py  capture.py  test_max_pool2d.py
"""

from pocketml.ops.max_pool2d.c import c_params
from pocketml.ops.max_pool2d.capture import CAPTURE, float_forward, from_float
from pocketml.ops.max_pool2d.op import MaxPool2D, MaxPool2DData
from pocketml.ops.max_pool2d.tflite import READ, write
from pocketml.ops.spec import SHARED, OpSpec

SPEC = OpSpec(
    "max_pool2d",
    MaxPool2D,
    c_kernel="max_pool2d.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "MaxPool2D", "MaxPool2DData"]
