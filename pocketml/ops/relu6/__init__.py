"""RELU6 as an op of its own: a clamp to [quantized 0, quantized 6]; input and output share
quantization.

    op.py  relu6.c/.h  c.py  tflite.py  capture.py  test_relu6.py
"""

from pocketml.ops.relu6.c import c_params
from pocketml.ops.relu6.capture import CAPTURE, float_forward, from_float
from pocketml.ops.relu6.op import ReLU6, ReLU6Data
from pocketml.ops.relu6.tflite import READ, write
from pocketml.ops.spec import SHARED, OpSpec

SPEC = OpSpec(
    "relu6",
    ReLU6,
    c_kernel="relu6.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "ReLU6", "ReLU6Data"]
