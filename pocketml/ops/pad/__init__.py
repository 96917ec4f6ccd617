"""PAD with zeros on height and width: the border holds the quantized 0.0 (the zero point).

    op.py  pad.c/.h  c.py  tflite.py  capture.py  test_pad.py
"""

from pocketml.ops.pad.c import c_params
from pocketml.ops.pad.capture import CAPTURE, float_forward, from_float
from pocketml.ops.pad.op import Pad, PadData
from pocketml.ops.pad.tflite import READ, write
from pocketml.ops.spec import SHARED, OpSpec

SPEC = OpSpec(
    "pad",
    Pad,
    c_kernel="pad.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "Pad", "PadData"]
