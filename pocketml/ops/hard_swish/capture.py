"""HARD_SWISH from PyTorch: ``nn.Hardswish``, captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.hard_swish.op import HardSwish


def capture_hard_swish(w, node) -> None:
    w.elementwise(node, "hard_swish", "hardswish")


CAPTURE = {"aten.hardswish.default": capture_hard_swish, "aten.hardswish_.default": capture_hard_swish}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> HardSwish:
    return HardSwish(layer.name, tuple(t.name for t in xs), out.name)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch."""
    import torch

    return torch.nn.functional.hardswish(xs[0])
