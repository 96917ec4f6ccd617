"""TANH: int8, TFLite Micro's arithmetic run once per input value, looked up at run time; int16
(16x8 models), its interpolated sigmoid table (``ops/sigmoid16.py``).

    op.py  tanh.c/.h  c.py  tflite.py  capture.py  test_tanh.py
"""

from pocketml.ops.spec import OpSpec
from pocketml.ops.tanh.c import c_params
from pocketml.ops.tanh.capture import CAPTURE, float_forward, from_float
from pocketml.ops.tanh.op import OUTPUT_QUANT, Tanh, TanhData
from pocketml.ops.tanh.tflite import READ, write

SPEC = OpSpec(
    "tanh",
    Tanh,
    c_kernel="tanh.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=OUTPUT_QUANT,
)

__all__ = ["SPEC", "Tanh", "TanhData"]
