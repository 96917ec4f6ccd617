"""RELU from PyTorch: ``nn.ReLU`` fused into the conv, linear or add before it when nothing else
reads that layer (as TFLite's converter does), else a RELU op of its own; and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.relu.op import ReLU


def capture_relu(w, node) -> None:
    if not w.fuse_activation(node, "relu"):
        w.elementwise(node, "relu", "relu")


CAPTURE = {"aten.relu.default": capture_relu, "aten.relu_.default": capture_relu}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> ReLU:
    return ReLU(layer.name, tuple(t.name for t in xs), out.name)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch."""
    return xs[0].clamp(min=0)
