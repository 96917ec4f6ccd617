"""RESIZE_NEAREST_NEIGHBOR from PyTorch: ``nn.Upsample(mode="nearest")`` / ``F.interpolate``, captured and quantized.

PyTorch's nearest mode is TFLite's default (no half-pixel centers, no corner alignment).
A scale factor must give the output size exactly (PyTorch then maps positions by 1/scale, TFLite by
in/out: the same numbers).
"""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.resize_nearest_neighbor.op import ResizeNearestNeighbor


def capture_nearest(w, node) -> None:
    a = w.args(node)
    src = w.spatial_input(node, "resizing")
    h, wd, c = w.shape_of[src]
    out = w.torch_shape(node)
    if len(out) != 3:
        raise w.fail(node, f"resizing to {out}; a [N, C, H, W] map is expected")
    scales = a.get("scale_factors")
    if scales and any(abs(o - i * float(s)) > 1e-6 for o, i, s in zip(out[1:], (h, wd), scales, strict=False)):
        raise w.fail(node, f"scale factors {list(scales)} that do not give whole sizes ({h}x{wd} -> {out[1]}x{out[2]});"
                     " pass size=(H, W) instead")
    align = bool(a.get("align_corners", False))
    w.add(node, FloatLayer("resize_nearest_neighbor", w.new_name("resize"), node.name, (out[1], out[2], c),
                           attrs={"align_corners": align, "half_pixel_centers": False}, inputs=(src,)))


CAPTURE = {"aten.upsample_nearest2d.vec": capture_nearest}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> ResizeNearestNeighbor:
    a = layer.attrs
    return ResizeNearestNeighbor(layer.name, tuple(t.name for t in xs), out.name, a["align_corners"],
                                 a["half_pixel_centers"])


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW."""
    import torch.nn.functional as F

    h, w, _ = layer.out_shape
    return F.interpolate(xs[0], size=(h, w), mode="nearest")
