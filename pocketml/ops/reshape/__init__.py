"""RESHAPE: the same bytes under a new shape (NHWC flatten is free: no data moves, no C code; the
memory planner makes the output an alias of the input).

    op.py  tflite.py  capture.py  test_reshape.py
"""

from pocketml.ops.reshape.capture import CAPTURE, float_forward, from_float
from pocketml.ops.reshape.op import Reshape
from pocketml.ops.reshape.tflite import READ, write
from pocketml.ops.spec import SHARED, OpSpec

SPEC = OpSpec(
    "reshape",
    Reshape,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "Reshape"]
