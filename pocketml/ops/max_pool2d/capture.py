"""MAX_POOL_2D from PyTorch: ``nn.MaxPool2d`` (no ceil mode, no dilation), captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.max_pool2d.op import MaxPool2D


def capture_max_pool(w, node) -> None:
    a = w.args(node)
    if a.get("ceil_mode", False):
        raise w.fail(node, "ceil_mode=True")
    if tuple(a.get("dilation", [1, 1])) not in ((1, 1), (1,)):
        raise w.fail(node, "dilated max pooling")
    src = w.spatial_input(node, "max pooling")
    k, s, p = w.pool_window(a)
    h, wd, c = w.shape_of[src]
    oh, ow = (h + 2 * p[0] - k[0]) // s[0] + 1, (wd + 2 * p[1] - k[1]) // s[1] + 1
    w.add(node, FloatLayer("max_pool2d", w.new_name("pool"), node.name, (oh, ow, c),
                           attrs={"kernel": k, "stride": s, "padding": p}, inputs=(src,)))


CAPTURE = {"aten.max_pool2d.default": capture_max_pool}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> MaxPool2D:
    return MaxPool2D(layer.name, tuple(t.name for t in xs), out.name, layer.attrs["kernel"], layer.attrs["stride"],
                     layer.attrs["padding"])


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW: what QAT trains."""
    import torch.nn.functional as F

    a = layer.attrs
    return F.max_pool2d(xs[0], a["kernel"], a["stride"], a["padding"])
