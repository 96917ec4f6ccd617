"""CONCATENATION along the channel (last) axis: bytes copied, no arithmetic; inputs and output share
one quantization (the quantizer forces it, as the TFLite converter does).

    op.py  concatenation.c/.h  c.py  tflite.py  capture.py  test_concatenation.py
"""

from pocketml.ops.concatenation.c import c_params
from pocketml.ops.concatenation.capture import CAPTURE, float_forward, from_float
from pocketml.ops.concatenation.op import Concatenation, ConcatenationData
from pocketml.ops.concatenation.tflite import READ, write
from pocketml.ops.spec import SHARED, OpSpec

SPEC = OpSpec(
    "concatenation",
    Concatenation,
    c_kernel="concatenation.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "Concatenation", "ConcatenationData"]
