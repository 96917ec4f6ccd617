"""REDUCE_MAX from PyTorch: global max pooling (``nn.AdaptiveMaxPool2d(1)`` / ``amax`` over the
spatial axes), captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.reduce_max.op import ReduceMax


def capture_amax(w, node) -> None:
    a = w.args(node)
    src = w.spatial_input(node, "a max over axes")
    rank = len(node.args[0].meta["val"].shape)
    dims = sorted(int(d) % rank for d in (a.get("dim") or []))
    if dims != ([2, 3] if rank == 4 else [2]):
        raise w.fail(node, f"amax over dims {a.get('dim')}; only over the spatial axes (global max pooling)")
    c = w.shape_of[src][2]
    shape = (1, 1, c) if a.get("keepdim", False) else (c,)
    w.add(node, FloatLayer("reduce_max", w.new_name("max"), node.name, shape, inputs=(src,)))


def capture_adaptive_max(w, node) -> None:
    a = w.args(node)
    if [int(v) for v in a["output_size"]] not in ([1], [1, 1]):
        raise w.fail(node, f"adaptive max pooling to {list(a['output_size'])}; only to 1 (global)")
    src = w.spatial_input(node, "global max pooling")
    w.add(node, FloatLayer("reduce_max", w.new_name("max"), node.name, (1, 1, w.shape_of[src][2]), inputs=(src,)))


CAPTURE = {"aten.amax.default": capture_amax, "aten.adaptive_max_pool2d.default": capture_adaptive_max,
           "aten.adaptive_max_pool1d.default": capture_adaptive_max}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> ReduceMax:
    return ReduceMax(layer.name, tuple(t.name for t in xs), out.name, out.shape, (0, 1))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW: the max over H and W (kept as 1x1 if the layer keeps it)."""
    return xs[0].amax((2, 3), keepdim=len(layer.out_shape) == 3)
