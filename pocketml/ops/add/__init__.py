"""ADD of two int8 operands, each with its own quantization (residual joins; broadcasting, a constant).

    op.py  add.c/.h  c.py  tflite.py  capture.py  test_add.py
    add_dsp.h/.c, dsp.py: the kernel for cores with the DSP extension and its parameters
"""

from pocketml.ops.add.c import c_params
from pocketml.ops.add.capture import CAPTURE, float_forward, from_float
from pocketml.ops.add.dsp import dsp_params
from pocketml.ops.add.op import Add, AddData
from pocketml.ops.add.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "add",
    Add,
    c_kernel="add.c",
    c_params=c_params,
    dsp_kernel="add_dsp.c",
    dsp_params=dsp_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "Add", "AddData"]
