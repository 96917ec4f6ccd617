"""TRANSPOSE of the per-sample axes (the batch stays first), no arithmetic.

    op.py  transpose.c/.h  c.py  tflite.py  capture.py  test_transpose.py
"""

from pocketml.ops.spec import SHARED, OpSpec
from pocketml.ops.transpose.c import c_params
from pocketml.ops.transpose.capture import CAPTURE, float_forward, from_float
from pocketml.ops.transpose.op import Transpose, TransposeData
from pocketml.ops.transpose.tflite import READ, write

SPEC = OpSpec(
    "transpose",
    Transpose,
    c_kernel="transpose.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "Transpose", "TransposeData"]
