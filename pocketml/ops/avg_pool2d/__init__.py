"""AVERAGE_POOL_2D: the rounded mean of each window's real taps; input and output share quantization.

    op.py  avg_pool2d.c/.h  c.py  tflite.py  capture.py  test_avg_pool2d.py
    avg_pool2d_dsp.h/.c, dsp.py: the kernel for cores with the DSP extension and its parameters
"""

from pocketml.ops.avg_pool2d.c import c_params
from pocketml.ops.avg_pool2d.capture import CAPTURE, float_forward, from_float
from pocketml.ops.avg_pool2d.dsp import dsp_params
from pocketml.ops.avg_pool2d.op import AvgPool2D, AvgPool2DData
from pocketml.ops.avg_pool2d.tflite import READ, write
from pocketml.ops.spec import SHARED, OpSpec

SPEC = OpSpec(
    "avg_pool2d",
    AvgPool2D,
    c_kernel="avg_pool2d.c",
    c_params=c_params,
    dsp_kernel="avg_pool2d_dsp.c",
    dsp_params=dsp_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "AvgPool2D", "AvgPool2DData"]
