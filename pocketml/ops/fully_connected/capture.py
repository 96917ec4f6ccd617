"""FULLY_CONNECTED from PyTorch: ``nn.Linear``, captured and quantized.

A linear layer fed by a flatten of a feature map gets its columns permuted from PyTorch's CHW
order to HWC, so the NHWC flatten (which moves no data) computes the same function.
"""

from __future__ import annotations

import numpy as np

from pocketml.graph.layers import FloatLayer
from pocketml.ops.fully_connected.op import FullyConnected
from pocketml.ops.weights import quantize_weights_and_bias


def capture_linear(w, node) -> None:
    a = w.args(node)
    weight = w.const(a["weight"])
    b = w.const(a["bias"])
    src = w.tensor(node, a["input"])
    if weight is None or weight.ndim != 2:
        raise w.fail(node, "linear weights must be a constant [out, in] matrix")
    if src in w.flattened_from:  # NCHW flatten order -> NHWC flatten order
        c, h, wd = w.flattened_from[src]
        weight = weight.reshape(weight.shape[0], c, h, wd).transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)
    if w.shape_of[src] != (weight.shape[1],):
        raise w.fail(node, f"linear expects {weight.shape[1]} features, gets shape {w.shape_of[src]}")
    w.add(node, FloatLayer(
        "fully_connected", w.new_name("fc"), node.name, (weight.shape[0],), np.ascontiguousarray(weight),
        b if b is not None else np.zeros(weight.shape[0], np.float32), inputs=(src,),
    ))


CAPTURE = {"aten.linear.default": capture_linear}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> FullyConnected:
    w, s_w, b = quantize_weights_and_bias(layer.weight, layer.bias, xs[0].quant.scale, bits)
    return FullyConnected(layer.name, tuple(t.name for t in xs), out.name, w, b, s_w, layer.activation)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch (``weight`` [out, in]): what QAT trains."""
    import torch.nn.functional as F

    return F.linear(xs[0], weight, bias)
