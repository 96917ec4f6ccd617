"""MEAN from PyTorch: global average pooling (``nn.AdaptiveAvgPool2d(1)``, or ``x.mean`` over the
spatial axes), captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.mean.op import Mean


def capture_adaptive(w, node) -> None:
    a = w.args(node)
    if [int(v) for v in a["output_size"]] not in ([1], [1, 1]):  # AdaptiveAvgPool1d/2d to 1
        raise w.fail(node, f"adaptive average pooling to {list(a['output_size'])}; only to 1x1 (global)")
    src = w.spatial_input(node, "global average pooling")
    c = w.shape_of[src][2]
    w.add(node, FloatLayer("mean", w.new_name("mean"), node.name, (1, 1, c), inputs=(src,)))


def capture_mean(w, node) -> None:
    a = w.args(node)
    src = w.spatial_input(node, "mean")
    rank = len(node.args[0].meta["val"].shape)
    dims = sorted(int(d) % rank for d in (a["dim"] or []))
    spatial = [2, 3] if rank == 4 else [2]
    if dims != spatial:
        raise w.fail(node, f"mean over dims {a['dim']}; only over the spatial axes {spatial} (global pooling)")
    if a.get("dtype") is not None:
        raise w.fail(node, "mean with a dtype")
    c = w.shape_of[src][2]
    shape = (1, 1, c) if a.get("keepdim", False) else (c,)
    w.add(node, FloatLayer("mean", w.new_name("mean"), node.name, shape, inputs=(src,)))


CAPTURE = {"aten.adaptive_avg_pool2d.default": capture_adaptive, "aten._adaptive_avg_pool2d.default": capture_adaptive,
           "aten.adaptive_avg_pool1d.default": capture_adaptive, "aten.mean.dim": capture_mean}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Mean:
    return Mean(layer.name, tuple(t.name for t in xs), out.name, out.shape)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW: the mean over H and W (kept as 1x1 if the layer keeps it)."""
    return xs[0].mean((2, 3), keepdim=len(layer.out_shape) == 3)
