"""RELU6 from PyTorch: ``nn.ReLU6`` (or ``hardtanh(0, 6)``) fused into the conv, linear or add
before it when nothing else reads that layer, else a RELU6 op of its own; and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.relu6.op import ReLU6


def capture_relu6(w, node) -> None:
    if str(node.target) != "aten.relu6.default":  # hardtanh(min, max): only (0, 6) is a ReLU6
        a = w.args(node)
        lo, hi = a["min_val"], a["max_val"]
        if (float(lo), float(hi)) != (0.0, 6.0):
            raise w.fail(node, f"hardtanh({lo}, {hi}); only ReLU6 = hardtanh(0, 6) is supported")
    if not w.fuse_activation(node, "relu6"):
        w.elementwise(node, "relu6", "relu6")


CAPTURE = {"aten.relu6.default": capture_relu6, "aten.hardtanh.default": capture_relu6,
           "aten.hardtanh_.default": capture_relu6}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> ReLU6:
    return ReLU6(layer.name, tuple(t.name for t in xs), out.name)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch."""
    return xs[0].clamp(0, 6)
