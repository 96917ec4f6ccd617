"""STRIDED_SLICE (and TFLite's SLICE): every stride-th element from begin, along each axis; no arithmetic.

    op.py  strided_slice.c/.h  c.py  tflite.py  capture.py  test_strided_slice.py
"""

from pocketml.ops.spec import SHARED, OpSpec
from pocketml.ops.strided_slice.c import c_params
from pocketml.ops.strided_slice.capture import CAPTURE, float_forward, from_float
from pocketml.ops.strided_slice.op import StridedSlice, StridedSliceData
from pocketml.ops.strided_slice.tflite import READ, write

SPEC = OpSpec(
    "strided_slice",
    StridedSlice,
    c_kernel="strided_slice.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "StridedSlice", "StridedSliceData"]
