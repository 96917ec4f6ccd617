"""MAXIMUM from PyTorch: ``torch.maximum(a, b)`` of tensors or a tensor and a constant, broadcasting;
captured and quantized (operands and output share one quantization)."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops import broadcast
from pocketml.ops.maximum.op import Maximum


def capture_maximum(w, node) -> None:
    a = w.args(node)
    broadcast.capture_binary(w, node, "maximum", "max", a["self"], a["other"])


CAPTURE = {"aten.maximum.default": capture_maximum}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Maximum:
    return Maximum(layer.name, tuple(t.name for t in xs), out.name, broadcast.quantized_constant(layer, out.quant))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW."""
    import torch

    a, b = broadcast.float_operands(layer, xs)
    return torch.maximum(a, b.to(a.dtype))
