"""LOGISTIC: int8, TFLite Micro's arithmetic run once per input value, looked up at run time; int16
(16x8 models), its interpolated sigmoid table (``ops/sigmoid16.py``).

    op.py  logistic.c/.h  c.py  tflite.py  capture.py  test_logistic.py
"""

from pocketml.ops.logistic.c import c_params
from pocketml.ops.logistic.capture import CAPTURE, float_forward, from_float
from pocketml.ops.logistic.op import OUTPUT_QUANT, Logistic, LogisticData
from pocketml.ops.logistic.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "logistic",
    Logistic,
    c_kernel="logistic.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=OUTPUT_QUANT,
)

__all__ = ["SPEC", "Logistic", "LogisticData"]
