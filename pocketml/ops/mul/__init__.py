"""MUL of two int8 operands with broadcasting, either one possibly a constant.

    op.py  mul.c/.h  c.py  tflite.py  capture.py  test_mul.py
"""

from pocketml.ops.mul.c import c_params
from pocketml.ops.mul.capture import CAPTURE, float_forward, from_float
from pocketml.ops.mul.op import Mul, MulData
from pocketml.ops.mul.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "mul",
    Mul,
    c_kernel="mul.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "Mul", "MulData"]
