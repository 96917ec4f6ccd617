"""SUB from PyTorch: ``a - b`` of tensors or a tensor and a constant (a mean subtracted), broadcasting;
captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops import broadcast
from pocketml.ops.sub.op import Sub


def capture_sub(w, node) -> None:
    a = w.args(node)
    if float(a.get("alpha", 1)) != 1.0:
        raise w.fail(node, "sub with alpha != 1")
    broadcast.capture_binary(w, node, "sub", "sub", a["self"], a["other"])


def capture_rsub(w, node) -> None:
    """``c - x`` (``aten.rsub``: self is x, other is c)."""
    a = w.args(node)
    if float(a.get("alpha", 1)) != 1.0:
        raise w.fail(node, "rsub with alpha != 1")
    broadcast.capture_binary(w, node, "sub", "sub", a["other"], a["self"])


CAPTURE = {"aten.sub.Tensor": capture_sub, "aten.sub_.Tensor": capture_sub, "aten.sub.Scalar": capture_sub,
           "aten.rsub.Scalar": capture_rsub, "aten.rsub.Tensor": capture_rsub}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Sub:
    return Sub(layer.name, tuple(t.name for t in xs), out.name, layer.activation, broadcast.quantized_constant(layer))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW (the fused activation is applied after)."""
    a, b = broadcast.float_operands(layer, xs)
    return a - b
