"""MINIMUM from PyTorch: ``torch.minimum(a, b)`` of tensors or a tensor and a constant, broadcasting;
captured and quantized (operands and output share one quantization)."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops import broadcast
from pocketml.ops.minimum.op import Minimum


def capture_minimum(w, node) -> None:
    a = w.args(node)
    broadcast.capture_binary(w, node, "minimum", "min", a["self"], a["other"])


CAPTURE = {"aten.minimum.default": capture_minimum}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Minimum:
    return Minimum(layer.name, tuple(t.name for t in xs), out.name, broadcast.quantized_constant(layer, out.quant))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW."""
    import torch

    a, b = broadcast.float_operands(layer, xs)
    return torch.minimum(a, b.to(a.dtype))
