"""MEAN over height and width (global average pooling): one value per channel.

    op.py  mean.c/.h  c.py  tflite.py  capture.py  test_mean.py
"""

from pocketml.ops.mean.c import c_params
from pocketml.ops.mean.capture import CAPTURE, float_forward, from_float
from pocketml.ops.mean.op import Mean, MeanData
from pocketml.ops.mean.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "mean",
    Mean,
    c_kernel="mean.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "Mean", "MeanData"]
