"""MAXIMUM of two int8 operands sharing one quantization, with broadcasting.

    op.py  maximum.c/.h  c.py  tflite.py  capture.py  test_maximum.py
"""

from pocketml.ops.maximum.c import c_params
from pocketml.ops.maximum.capture import CAPTURE, float_forward, from_float
from pocketml.ops.maximum.op import Maximum
from pocketml.ops.maximum.tflite import READ, write
from pocketml.ops.spec import SHARED, OpSpec

SPEC = OpSpec(
    "maximum",
    Maximum,
    c_kernel="maximum.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "Maximum"]
