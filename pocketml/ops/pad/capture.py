"""PAD from PyTorch: constant padding of any axis but the batch (``nn.ZeroPad2d``, ``nn.ConstantPad1d/2d``,
``F.pad`` of H, W and channels), captured and quantized (a non-zero value becomes PADV2's)."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer, nhwc_axis
from pocketml.ops.pad.op import Pad


def capture_pad(w, node) -> None:
    a = w.args(node)
    pads = [int(v) for v in (a.get("pad") or a.get("padding") or [])]
    mode = a.get("mode", "constant")
    value = float(a.get("value", 0.0) or 0.0)
    rank = len(node.args[0].meta["val"].shape)
    if mode != "constant":
        raise w.fail(node, f"pad mode={mode!r}; only constant padding is supported")
    if len(pads) % 2 or not 0 < len(pads) // 2 < rank or min(pads) < 0:
        raise w.fail(node, f"pad {pads}; non-negative padding of axes other than the batch is supported")
    src = w.tensor(node, node.args[0])
    w.no_permuted_flat(node, src, "a pad")
    shape = list(w.shape_of[src])
    per_axis = [(0, 0)] * len(shape)
    for k in range(len(pads) // 2):  # PyTorch lists the last axis first
        axis = nhwc_axis(rank - 1 - k, rank)
        per_axis[axis] = (pads[2 * k], pads[2 * k + 1])
    out = tuple(d + b + e for d, (b, e) in zip(shape, per_axis, strict=True))
    paddings = tuple(per_axis[:2]) if len(shape) == 3 and per_axis[2] == (0, 0) else tuple(per_axis)
    w.add(node, FloatLayer("pad", w.new_name("pad"), node.name, out,
                           attrs={"paddings": paddings, "value": value, "torch_pad": tuple(pads), "rank": rank},
                           inputs=(src,)))


CAPTURE = {"aten.pad.default": capture_pad, "aten.constant_pad_nd.default": capture_pad}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Pad:
    value = layer.attrs.get("value", 0.0)
    q = None if value == 0.0 else int(out.quant.quantize([value])[0])
    return Pad(layer.name, tuple(t.name for t in xs), out.name, layer.attrs["paddings"], q)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch (NCHW, a signal as a 1-high map)."""
    import torch.nn.functional as F

    pads = list(layer.attrs.get("torch_pad") or ())
    if not pads:  # a layer built before torch_pad was kept: H, W
        (top, bottom), (left, right) = layer.attrs["paddings"][:2]
        pads = [left, right, top, bottom]
    if layer.attrs.get("rank") == 3 and xs[0].dim() == 4 and len(pads) > 2:  # a signal runs as (N, C, 1, W)
        pads = pads[:2] + [0, 0] + pads[2:]
    return F.pad(xs[0], pads, value=layer.attrs.get("value", 0.0))
