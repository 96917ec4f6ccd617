"""AVERAGE_POOL_2D from PyTorch: ``nn.AvgPool2d`` and ``nn.AvgPool1d``, ``ceil_mode`` included (padding
only with ``count_include_pad=False``, as TFLite excludes padding from the average), captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.avg_pool2d.op import AvgPool2D
from pocketml.ops.pooling import pool_geometry


def capture_avg_pool(w, node) -> None:
    a = w.args(node)
    one_d = "1d" in str(node.target)
    if a.get("divisor_override") is not None:
        raise w.fail(node, "divisor_override")
    src, k, s, p, end, (oh, ow) = pool_geometry(w, node, a, one_d)
    if (p[0] or p[1]) and a.get("count_include_pad", True):
        raise w.fail(node, "average pooling with padding and count_include_pad=True (TFLite excludes the "
                     "padding from the average: use count_include_pad=False)")
    c = w.shape_of[src][2]
    w.add(node, FloatLayer("avg_pool2d", w.new_name("avgpool"), node.name, (oh, ow, c),
                           attrs={"kernel": k, "stride": s, "padding": p, "padding_end": end,
                                  "ceil_mode": bool(a.get("ceil_mode", False))}, inputs=(src,)))


CAPTURE = {"aten.avg_pool2d.default": capture_avg_pool, "aten.avg_pool1d.default": capture_avg_pool}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> AvgPool2D:
    a = layer.attrs
    return AvgPool2D(layer.name, tuple(t.name for t in xs), out.name, a["kernel"], a["stride"], a["padding"],
                     padding_end=a.get("padding_end"))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW (padding never counted, as TFLite): what QAT trains."""
    import torch.nn.functional as F

    a = layer.attrs
    return F.avg_pool2d(xs[0], a["kernel"], a["stride"], a["padding"], ceil_mode=a.get("ceil_mode", False),
                        count_include_pad=False)
