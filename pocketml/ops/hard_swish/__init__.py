"""HARD_SWISH, int8: TFLite Micro's arithmetic run once per input value, looked up at run time.

    op.py  hard_swish.c/.h  c.py  tflite.py  capture.py  test_hard_swish.py
"""

from pocketml.ops.hard_swish.c import c_params
from pocketml.ops.hard_swish.capture import CAPTURE, float_forward, from_float
from pocketml.ops.hard_swish.op import HardSwish, HardSwishData
from pocketml.ops.hard_swish.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "hard_swish",
    HardSwish,
    c_kernel="hard_swish.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "HardSwish", "HardSwishData"]
