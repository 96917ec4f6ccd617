"""LEAKY_RELU: x above zero, alpha·x below, with rescaling.

    op.py  leaky_relu.c/.h  c.py  tflite.py  capture.py  test_leaky_relu.py
"""

from pocketml.ops.leaky_relu.c import c_params
from pocketml.ops.leaky_relu.capture import CAPTURE, float_forward, from_float
from pocketml.ops.leaky_relu.op import LeakyReLU, LeakyReLUData
from pocketml.ops.leaky_relu.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "leaky_relu",
    LeakyReLU,
    c_kernel="leaky_relu.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "LeakyReLU", "LeakyReLUData"]
