"""SOFTMAX from PyTorch: softmax over the classes (dim=1 of [N, classes]), captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.softmax.op import Softmax


def capture_softmax(w, node) -> None:
    a = w.args(node)
    src = w.tensor(node, node.args[0])
    rank = len(node.args[0].meta["val"].shape)
    if int(a["dim"]) % rank != 1:
        raise w.fail(node, f"softmax over dim {a['dim']}; only over the classes/channels (dim=1)")
    if rank != 2 and len(w.shape_of[src]) != 1:
        raise w.fail(node, "softmax of a feature map; flatten or pool it first")
    w.no_permuted_flat(node, src, "a softmax")
    w.add(node, FloatLayer("softmax", w.new_name("softmax"), node.name, w.shape_of[src], inputs=(src,)))


CAPTURE = {"aten.softmax.int": capture_softmax, "aten._softmax.default": capture_softmax}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Softmax:
    return Softmax(layer.name, tuple(t.name for t in xs), out.name)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch: softmax over the classes."""
    return xs[0].softmax(1)


def loss_forward(layer: FloatLayer, xs):
    """The model's final softmax in training mode: log-probabilities (the loss is their negative mean)."""
    return xs[0].log_softmax(1)
