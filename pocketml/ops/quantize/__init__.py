"""QUANTIZE between 8-bit types (uint8 ⇄ int8 at a model's edges, int8 → int8 inside): a table by byte.

    op.py  quantize.c/.h  c.py  tflite.py  capture.py  test_quantize.py
"""

from pocketml.ops.quantize.c import c_params
from pocketml.ops.quantize.capture import CAPTURE, float_forward, from_float
from pocketml.ops.quantize.op import Quantize, QuantizeData
from pocketml.ops.quantize.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "quantize",
    Quantize,
    c_kernel="quantize.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "Quantize", "QuantizeData"]
