"""MAX_POOL_2D from PyTorch: ``nn.MaxPool2d`` and ``nn.MaxPool1d`` (a 1-high window on the [1, W, C]
map of a signal), ``ceil_mode`` included, no dilation; captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.max_pool2d.op import MaxPool2D
from pocketml.ops.pooling import pool_geometry


def capture_max_pool(w, node) -> None:
    a = w.args(node)
    one_d = "1d" in str(node.target)
    if any(int(d) != 1 for d in a.get("dilation", [1])):
        raise w.fail(node, "dilated max pooling")
    src, k, s, p, end, (oh, ow) = pool_geometry(w, node, a, one_d)
    c = w.shape_of[src][2]
    w.add(node, FloatLayer("max_pool2d", w.new_name("pool"), node.name, (oh, ow, c),
                           attrs={"kernel": k, "stride": s, "padding": p, "padding_end": end,
                                  "ceil_mode": bool(a.get("ceil_mode", False))}, inputs=(src,)))


CAPTURE = {"aten.max_pool2d.default": capture_max_pool, "aten.max_pool1d.default": capture_max_pool}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> MaxPool2D:
    a = layer.attrs
    return MaxPool2D(layer.name, tuple(t.name for t in xs), out.name, a["kernel"], a["stride"], a["padding"],
                     padding_end=a.get("padding_end"))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW (a signal as a 1-high map): what QAT trains."""
    import torch.nn.functional as F

    a = layer.attrs
    return F.max_pool2d(xs[0], a["kernel"], a["stride"], a["padding"], ceil_mode=a.get("ceil_mode", False))
