"""MINIMUM of two int8 operands sharing one quantization, with broadcasting.

    op.py  minimum.c/.h  c.py  tflite.py  capture.py  test_minimum.py
"""

from pocketml.ops.minimum.c import c_params
from pocketml.ops.minimum.capture import CAPTURE, float_forward, from_float
from pocketml.ops.minimum.op import Minimum
from pocketml.ops.minimum.tflite import READ, write
from pocketml.ops.spec import SHARED, OpSpec

SPEC = OpSpec(
    "minimum",
    Minimum,
    c_kernel="minimum.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "Minimum"]
