"""LEAKY_RELU from PyTorch: ``nn.LeakyReLU(negative_slope)``, captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.leaky_relu.op import LeakyReLU


def capture_leaky_relu(w, node) -> None:
    slope = float(w.args(node)["negative_slope"])
    if not 0.0 < slope <= 1.0:
        raise w.fail(node, f"LeakyReLU with negative_slope={slope}; a slope in (0, 1] is supported")
    w.elementwise(node, "leaky_relu", "leaky_relu")
    w.layers[-1].attrs["alpha"] = slope


CAPTURE = {"aten.leaky_relu.default": capture_leaky_relu, "aten.leaky_relu_.default": capture_leaky_relu}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> LeakyReLU:
    return LeakyReLU(layer.name, tuple(t.name for t in xs), out.name, layer.attrs["alpha"])


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch."""
    import torch.nn.functional as F

    return F.leaky_relu(xs[0], layer.attrs["alpha"])
