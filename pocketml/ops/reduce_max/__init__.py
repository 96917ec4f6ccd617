"""REDUCE_MAX over adjacent axes of an int8 tensor (global max pooling), no arithmetic.

    op.py  reduce_max.c/.h  c.py  tflite.py  capture.py  test_reduce_max.py
"""

from pocketml.ops.reduce_max.c import c_params
from pocketml.ops.reduce_max.capture import CAPTURE, float_forward, from_float
from pocketml.ops.reduce_max.op import ReduceMax, ReduceMaxData
from pocketml.ops.reduce_max.tflite import READ, write
from pocketml.ops.spec import SHARED, OpSpec

SPEC = OpSpec(
    "reduce_max",
    ReduceMax,
    c_kernel="reduce_max.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "ReduceMax", "ReduceMaxData"]
