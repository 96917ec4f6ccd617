"""PAD from PyTorch: zero padding of height and width (``nn.ZeroPad2d``, ``F.pad``), captured and
quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.pad.op import Pad


def capture_pad(w, node) -> None:
    a = w.args(node)
    pads = [int(v) for v in (a.get("pad") or a.get("padding") or [])]
    mode = a.get("mode", "constant")
    value = a.get("value", 0.0)
    if mode != "constant" or float(value or 0.0) != 0.0:
        raise w.fail(node, f"pad mode={mode!r} value={value}; only zero padding is supported")
    if len(pads) not in (2, 4) or min(pads) < 0:
        raise w.fail(node, f"pad {pads}; only non-negative padding of the spatial axes is supported")
    src = w.spatial_input(node, "padding")
    rank = len(node.args[0].meta["val"].shape)
    left, right = pads[0], pads[1]
    top, bottom = (pads[2], pads[3]) if len(pads) == 4 else (0, 0)
    if rank == 3 and len(pads) == 4:
        raise w.fail(node, "padding the channel axis of a 1-D signal")
    h, wd, c = w.shape_of[src]
    w.add(node, FloatLayer("pad", w.new_name("pad"), node.name, (h + top + bottom, wd + left + right, c),
                           attrs={"paddings": ((top, bottom), (left, right))}, inputs=(src,)))


CAPTURE = {"aten.pad.default": capture_pad, "aten.constant_pad_nd.default": capture_pad}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Pad:
    return Pad(layer.name, tuple(t.name for t in xs), out.name, layer.attrs["paddings"])


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW: zero padding of H and W."""
    import torch.nn.functional as F

    (top, bottom), (left, right) = layer.attrs["paddings"]
    return F.pad(xs[0], (left, right, top, bottom))
