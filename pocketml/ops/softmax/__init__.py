"""SOFTMAX over the last axis, int8 in, int8 out at TFLite's fixed (1/256, -128).

    op.py  softmax.c/.h  c.py  tflite.py  capture.py  test_softmax.py
"""

from pocketml.ops.softmax.c import c_params
from pocketml.ops.softmax.capture import CAPTURE, float_forward, from_float, loss_forward
from pocketml.ops.softmax.op import OUTPUT_QUANT, Softmax, SoftmaxData
from pocketml.ops.softmax.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "softmax",
    Softmax,
    c_kernel="softmax.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=OUTPUT_QUANT,
    loss_forward=loss_forward,
)

__all__ = ["SPEC", "OUTPUT_QUANT", "Softmax", "SoftmaxData"]
