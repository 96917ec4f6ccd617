"""CONCATENATION from PyTorch: ``torch.cat`` on the channel axis (dim=1), captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.concatenation.op import Concatenation


def capture_cat(w, node) -> None:
    a = w.args(node)
    parts = [w.tensor(node, v) for v in a["tensors"]]
    rank = len(node.meta["val"].shape)
    if int(a.get("dim", 0)) % rank != 1:
        raise w.fail(node, f"cat on dim {a.get('dim')}; only on the channel axis (dim=1)")
    shapes = [w.shape_of[p] for p in parts]
    if len({s[:-1] for s in shapes}) != 1:
        raise w.fail(node, f"cat of shapes {shapes}")
    for t in parts:
        w.no_permuted_flat(node, t, "a concatenation")
    out = (*shapes[0][:-1], sum(s[-1] for s in shapes))
    w.add(node, FloatLayer("concatenation", w.new_name("concat"), node.name, out, inputs=tuple(parts)))


CAPTURE = {"aten.cat.default": capture_cat, "aten.concat.default": capture_cat}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Concatenation:
    return Concatenation(layer.name, tuple(t.name for t in xs), out.name)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW: channels joined."""
    import torch

    return torch.cat(list(xs), 1)
