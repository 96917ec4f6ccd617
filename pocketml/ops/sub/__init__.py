"""SUB of two int8 operands with broadcasting, either one possibly a constant.

    op.py  sub.c/.h  c.py  tflite.py  capture.py  test_sub.py
"""

from pocketml.ops.spec import OpSpec
from pocketml.ops.sub.c import c_params
from pocketml.ops.sub.capture import CAPTURE, float_forward, from_float
from pocketml.ops.sub.op import Sub, SubData
from pocketml.ops.sub.tflite import READ, write

SPEC = OpSpec(
    "sub",
    Sub,
    c_kernel="sub.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "Sub", "SubData"]
