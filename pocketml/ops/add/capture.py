"""ADD from PyTorch: tensor + tensor of the same shape (a residual join), captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.add.op import Add


def capture_add(w, node) -> None:
    a = w.args(node)
    if float(a.get("alpha", 1)) != 1.0:
        raise w.fail(node, "add with alpha != 1")
    if not all(w.is_tensor(v) for v in (a["self"], a["other"])):
        raise w.fail(node, "adding a constant; only tensor + tensor (a residual join) is supported")
    x, y = w.tensor(node, a["self"]), w.tensor(node, a["other"])
    if w.shape_of[x] != w.shape_of[y]:
        raise w.fail(node, f"add of shapes {w.shape_of[x]} and {w.shape_of[y]} (broadcasting)")
    for t in (x, y):
        w.no_permuted_flat(node, t, "an add")
    w.add(node, FloatLayer("add", w.new_name("add"), node.name, w.shape_of[x], inputs=(x, y)))


CAPTURE = {"aten.add.Tensor": capture_add, "aten.add_.Tensor": capture_add}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Add:
    return Add(layer.name, tuple(t.name for t in xs), out.name, layer.activation)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch: what QAT trains (the fused activation is applied after)."""
    return xs[0] + xs[1]
