"""PRELU from PyTorch: ``nn.PReLU`` (one slope, or one per channel), captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops import broadcast
from pocketml.ops.prelu.op import PReLU


def capture_prelu(w, node) -> None:
    a = w.args(node)
    slopes = w.const(a["weight"])
    if slopes is None:
        raise w.fail(node, "PReLU whose slopes are not a parameter of the model")
    rank = len(node.meta["val"].shape)
    # PyTorch applies weight[c] along axis 1 (channels), not right-aligned: make it (C, 1, 1)
    per_channel = slopes.reshape(-1, *([1] * (rank - 2))) if rank > 2 and slopes.size > 1 else slopes.reshape(-1)
    broadcast.capture_binary(w, node, "prelu", "prelu", a["self"], per_channel)


CAPTURE = {"aten.prelu.default": capture_prelu, "aten._prelu_kernel.default": capture_prelu}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> PReLU:
    return PReLU(layer.name, tuple(t.name for t in xs), out.name, broadcast.quantized_constant(layer))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW."""
    import torch

    x, alpha = broadcast.float_operands(layer, xs)
    return torch.where(x >= 0, x, x * alpha)
