"""LOGISTIC from PyTorch: ``nn.Sigmoid / torch.sigmoid``, captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.logistic.op import Logistic


def capture_logistic(w, node) -> None:
    w.elementwise(node, "logistic", "sigmoid")


CAPTURE = {"aten.sigmoid.default": capture_logistic, "aten.sigmoid_.default": capture_logistic}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Logistic:
    return Logistic(layer.name, tuple(t.name for t in xs), out.name)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch."""
    import torch

    return torch.sigmoid(xs[0])
