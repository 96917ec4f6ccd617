"""DEPTHWISE_CONV_2D from PyTorch: a grouped ``nn.Conv2d``/``nn.Conv1d`` with one group per input
channel. The ATen convolution is captured by CONV_2D's rule (``ops/conv2d/capture.py``), which
makes a layer of this kind; here it is quantized."""

from __future__ import annotations

import numpy as np

from pocketml.graph.layers import FloatLayer
from pocketml.ops.depthwise_conv2d.op import DepthwiseConv2D
from pocketml.ops.weights import quantize_weights_and_bias


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> DepthwiseConv2D:
    """[C_out, KH, KW, 1] float → per-channel int8 → TFLite's [1, KH, KW, C_out]."""
    w, s_w, b = quantize_weights_and_bias(layer.weight, layer.bias, xs[0].quant.scale, bits)
    return DepthwiseConv2D(layer.name, tuple(t.name for t in xs), out.name,
                           np.ascontiguousarray(w.transpose(3, 1, 2, 0)), b, s_w, layer.attrs["stride"],
                           layer.attrs["padding"], layer.attrs["dilation"], layer.attrs["depth_multiplier"],
                           layer.activation)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW (``weight`` [C_out, 1, KH, KW]): what QAT trains."""
    import torch.nn.functional as F

    a = layer.attrs
    return F.conv2d(xs[0], weight, bias, a["stride"], a["padding"], a["dilation"], groups=xs[0].shape[1])
