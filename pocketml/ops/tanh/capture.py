"""TANH from PyTorch: ``nn.Tanh / torch.tanh``, captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.tanh.op import Tanh


def capture_tanh(w, node) -> None:
    w.elementwise(node, "tanh", "tanh")


CAPTURE = {"aten.tanh.default": capture_tanh, "aten.tanh_.default": capture_tanh}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Tanh:
    return Tanh(layer.name, tuple(t.name for t in xs), out.name)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch."""
    import torch

    return torch.tanh(xs[0])
