"""FULLY_CONNECTED: int8 matrix-vector product, per-channel int8 weights, int32 bias.

    op.py  fully_connected.c/.h  c.py  tflite.py  capture.py (nn.Linear)  test_fully_connected.py
    fully_connected_dsp.h/.c, dsp.py: the kernel for cores with the DSP extension and its parameters
"""

from pocketml.ops.fully_connected.c import c_params
from pocketml.ops.fully_connected.capture import CAPTURE, float_forward, from_float
from pocketml.ops.fully_connected.dsp import dsp_params
from pocketml.ops.fully_connected.op import FullyConnected, FullyConnectedData
from pocketml.ops.fully_connected.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "fully_connected",
    FullyConnected,
    c_kernel="fully_connected.c",
    c_params=c_params,
    dsp_kernel="fully_connected_dsp.c",
    dsp_params=dsp_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "FullyConnected", "FullyConnectedData"]
