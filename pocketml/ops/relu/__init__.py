"""RELU as an op of its own (a fused ReLU is the clamp of the op before it), with rescaling.

    op.py  relu.c/.h  c.py  tflite.py  capture.py  test_relu.py
"""

from pocketml.ops.relu.c import c_params
from pocketml.ops.relu.capture import CAPTURE, float_forward, from_float
from pocketml.ops.relu.op import ReLU, ReLUData
from pocketml.ops.relu.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "relu",
    ReLU,
    c_kernel="relu.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "ReLU", "ReLUData"]
