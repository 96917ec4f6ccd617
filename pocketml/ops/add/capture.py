"""ADD from PyTorch: tensor + tensor (a residual join, broadcasting) or tensor + constant (a shift, the
3 of ``x + 3``), captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops import broadcast
from pocketml.ops.add.op import Add


def capture_add(w, node) -> None:
    a = w.args(node)
    if float(a.get("alpha", 1)) != 1.0:
        raise w.fail(node, "add with alpha != 1")
    broadcast.capture_binary(w, node, "add", "add", a["self"], a["other"])


CAPTURE = {"aten.add.Tensor": capture_add, "aten.add_.Tensor": capture_add, "aten.add.Scalar": capture_add}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Add:
    return Add(layer.name, tuple(t.name for t in xs), out.name, layer.activation, broadcast.quantized_constant(layer))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch: what QAT trains (the fused activation is applied after)."""
    a, b = broadcast.float_operands(layer, xs)
    return a + b
