"""CONV_2D from PyTorch: ``nn.Conv2d`` / ``nn.Conv1d`` captured, then quantized.

A 1-D convolution on ``[N, C, W]`` is a 2-D one on a ``[1, W, C]`` map (TFLite has no 1-D conv).
``groups`` = 1 gives a CONV_2D; ``groups`` = input channels (one filter group per channel) gives a
DEPTHWISE_CONV_2D layer (that op's folder quantizes it); other groupings are refused. Weights are
turned from OIHW to OHWI (depthwise: ``[C_out, KH, KW, 1]``) here, once.
"""

from __future__ import annotations

import numpy as np

from pocketml.graph.layers import FloatLayer
from pocketml.ops.conv2d.op import Conv2D
from pocketml.ops.weights import quantize_weights_and_bias


def capture_convolution(w, node) -> None:
    a = w.args(node)
    if a.get("transposed", False):
        raise w.fail(node, "transposed convolution")
    weight = w.const(a["weight"])  # OIHW or OIW
    if weight is None or weight.ndim not in (3, 4):
        raise w.fail(node, "only 1-D and 2-D convolution are supported")
    src = w.tensor(node, a["input"])
    w.no_permuted_flat(node, src, "a convolution")
    h, wd, cin = w.shape_of[src]
    one_d = weight.ndim == 3
    if one_d:  # [N, C, W] signal: a 1-high 2-D conv on the [1, W, C] map
        weight = weight[:, :, None, :]
    padding = a["padding"]
    k = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            padding = [0] * (1 if one_d else 2)
        elif any(int(s) != 1 for s in a["stride"]) or any((d * (kk - 1)) % 2 for d, kk in
                                                          zip(a["dilation"], k[1:] if one_d else k, strict=True)):
            raise w.fail(node, "padding='same' with a stride or an even kernel (asymmetric padding)")
        else:
            padding = [d * (kk - 1) // 2 for d, kk in zip(a["dilation"], k[1:] if one_d else k, strict=True)]

    def pair(v, one):  # PyTorch gives [x] or [x, y]; a 1-D conv's height values are `one`
        v = [int(i) for i in v]
        if one_d:
            return (one, v[0])
        return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])

    stride, padding, dilation = pair(a["stride"], 1), pair(padding, 0), pair(a["dilation"], 1)
    groups = int(a.get("groups", 1))
    b = w.const(a["bias"])
    cout = weight.shape[0]
    if groups == 1:
        kind, prefix, attrs = "conv2d", "conv", {}
    elif groups == cin and weight.shape[1] == 1:
        kind, prefix, attrs = "depthwise_conv2d", "dwconv", {"depth_multiplier": cout // cin}
    else:
        raise w.fail(node, f"groups={groups} (only 1 or the number of input channels: depthwise)")
    oh = (h + 2 * padding[0] - dilation[0] * (weight.shape[2] - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * padding[1] - dilation[1] * (weight.shape[3] - 1) - 1) // stride[1] + 1
    w.add(node, FloatLayer(
        kind, w.new_name(prefix), node.name, (oh, ow, cout), np.ascontiguousarray(weight.transpose(0, 2, 3, 1)),
        b if b is not None else np.zeros(cout, np.float32),
        attrs={"stride": stride, "padding": padding, "dilation": dilation, **attrs}, inputs=(src,),
    ))


CAPTURE = {"aten.conv2d.default": capture_convolution, "aten.convolution.default": capture_convolution,
           "aten.conv1d.default": capture_convolution}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Conv2D:
    """Per-channel symmetric weights (``bits`` wide, held as int8), int32 bias at s_in·s_w."""
    w, s_w, b = quantize_weights_and_bias(layer.weight, layer.bias, xs[0].quant.scale, bits)
    return Conv2D(layer.name, tuple(t.name for t in xs), out.name, w, b, s_w, layer.attrs["stride"],
                  layer.attrs["padding"], layer.attrs["dilation"], layer.activation)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW (``weight`` OIHW): what QAT trains (compress/mirror.py)."""
    import torch.nn.functional as F

    a = layer.attrs
    return F.conv2d(xs[0], weight, bias, a["stride"], a["padding"], a["dilation"])
