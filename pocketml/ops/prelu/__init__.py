"""PRELU: x above zero, a learned slope times x below (per channel or one for all).

    op.py  prelu.c/.h  c.py  tflite.py  capture.py  test_prelu.py
"""

from pocketml.ops.prelu.c import c_params
from pocketml.ops.prelu.capture import CAPTURE, float_forward, from_float
from pocketml.ops.prelu.op import PReLU, PReLUData
from pocketml.ops.prelu.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "prelu",
    PReLU,
    c_kernel="prelu.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "PReLU", "PReLUData"]
