"""AVERAGE_POOL_2D from PyTorch: ``nn.AvgPool2d`` (padding only with ``count_include_pad=False``,
as TFLite excludes padding from the average), captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.avg_pool2d.op import AvgPool2D


def capture_avg_pool(w, node) -> None:
    a = w.args(node)
    if a.get("ceil_mode", False):
        raise w.fail(node, "ceil_mode=True")
    if a.get("divisor_override") is not None:
        raise w.fail(node, "divisor_override")
    src = w.spatial_input(node, "average pooling")
    k, s, p = w.pool_window(a)
    if (p[0] or p[1]) and a.get("count_include_pad", True):
        raise w.fail(node, "average pooling with padding and count_include_pad=True (TFLite excludes the "
                     "padding from the average: use count_include_pad=False)")
    h, wd, c = w.shape_of[src]
    oh, ow = (h + 2 * p[0] - k[0]) // s[0] + 1, (wd + 2 * p[1] - k[1]) // s[1] + 1
    w.add(node, FloatLayer("avg_pool2d", w.new_name("avgpool"), node.name, (oh, ow, c),
                           attrs={"kernel": k, "stride": s, "padding": p}, inputs=(src,)))


CAPTURE = {"aten.avg_pool2d.default": capture_avg_pool}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> AvgPool2D:
    return AvgPool2D(layer.name, tuple(t.name for t in xs), out.name, layer.attrs["kernel"], layer.attrs["stride"],
                     layer.attrs["padding"])


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW (padding never counted, as TFLite): what QAT trains."""
    import torch.nn.functional as F

    a = layer.attrs
    return F.avg_pool2d(xs[0], a["kernel"], a["stride"], a["padding"], count_include_pad=False)
