"""CONCATENATION from PyTorch: ``torch.cat`` on any axis but the batch (channels, height, width),
captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer, nhwc_axis
from pocketml.ops.concatenation.op import Concatenation


def capture_cat(w, node) -> None:
    a = w.args(node)
    parts = [w.tensor(node, v) for v in a["tensors"]]
    rank = len(node.meta["val"].shape)
    if int(a.get("dim", 0)) % rank == 0:
        raise w.fail(node, "cat on the batch axis")
    axis = nhwc_axis(int(a.get("dim", 0)), rank)
    shapes = [w.shape_of[p] for p in parts]
    if len({s[:axis] + s[axis + 1:] for s in shapes}) != 1 or any(len(s) != len(shapes[0]) for s in shapes):
        raise w.fail(node, f"cat of shapes {shapes}")
    for t in parts:
        w.no_permuted_flat(node, t, "a concatenation")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    w.add(node, FloatLayer("concatenation", w.new_name("concat"), node.name, tuple(out),
                           attrs={"axis": -1 if axis == len(out) - 1 else axis,
                                  "torch_dim": int(a.get("dim", 0)) % rank}, inputs=tuple(parts)))


CAPTURE = {"aten.cat.default": capture_cat, "aten.concat.default": capture_cat}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Concatenation:
    return Concatenation(layer.name, tuple(t.name for t in xs), out.name, layer.attrs.get("axis", -1))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW: channels joined."""
    import torch

    dim = layer.attrs.get("torch_dim", 1)
    return torch.cat(list(xs), dim if xs[0].dim() == 4 or dim == 1 else dim + 1)  # a signal runs 1-high
