"""DEPTHWISE_CONV_2D: each input channel convolved with its own filters (depth multiplier M).

    op.py  depthwise_conv2d.c/.h  c.py  tflite.py  capture.py (quantization; PyTorch's grouped
    convolution is captured by conv2d's rule)  test_depthwise_conv2d.py
    depthwise_conv2d_dsp.h/.c, dsp.py: the kernel for cores with the DSP extension and its parameters
"""

from pocketml.ops.depthwise_conv2d.c import c_params
from pocketml.ops.depthwise_conv2d.capture import float_forward, from_float
from pocketml.ops.depthwise_conv2d.dsp import dsp_params
from pocketml.ops.depthwise_conv2d.op import DepthwiseConv2D, DepthwiseConv2DData
from pocketml.ops.depthwise_conv2d.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "depthwise_conv2d",
    DepthwiseConv2D,
    c_kernel="depthwise_conv2d.c",
    c_params=c_params,
    dsp_kernel="depthwise_conv2d_dsp.c",
    dsp_params=dsp_params,
    tflite_write=write,
    tflite_read=READ,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "DepthwiseConv2D", "DepthwiseConv2DData"]
