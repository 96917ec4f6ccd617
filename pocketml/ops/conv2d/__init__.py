"""CONV_2D: int8 convolution, per-channel int8 weights, int32 bias, fused activation.

    op.py        the reference (prepare: checks and constants; evaluate: integer arithmetic), and the
                 fused epilogue: a max pool (``PoolEpilogue``, ``with_pool``; graph/fuse.py)
    conv2d.c/.h  the C kernel and its parameter struct
    conv2d_dsp.h/.c  the kernel for cores with the DSP extension (SMLAD), and dsp.py its parameters
    c.py         the struct's values for one layer (HWIO weights, folded bias)
    tflite.py    the TFLite operator, written and read
    capture.py   nn.Conv2d / nn.Conv1d captured from PyTorch, and the float layer quantized
    test_conv2d.py
"""

from pocketml.ops.conv2d.c import c_params
from pocketml.ops.conv2d.capture import CAPTURE, float_forward, from_float
from pocketml.ops.conv2d.dsp import dsp_params
from pocketml.ops.conv2d.op import Conv2D, Conv2DData, PoolEpilogue, conv_output_hw, im2col
from pocketml.ops.conv2d.tflite import READ, write
from pocketml.ops.spec import OpSpec

SPEC = OpSpec(
    "conv2d",
    Conv2D,
    c_kernel="conv2d.c",
    c_params=c_params,
    dsp_kernel="conv2d_dsp.c",
    dsp_params=dsp_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
)

__all__ = ["SPEC", "Conv2D", "Conv2DData", "PoolEpilogue", "conv_output_hw", "im2col"]
