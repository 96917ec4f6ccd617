"""RESIZE_NEAREST_NEIGHBOR from PyTorch: ``nn.Upsample(mode="nearest")`` / ``F.interpolate``, captured and quantized.

PyTorch's nearest mode is TFLite's default (no half-pixel centers, no corner alignment).
A scale factor must give the output size exactly (PyTorch then maps positions by 1/scale, TFLite by
in/out: the same numbers).
"""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.resize import capture_resize
from pocketml.ops.resize_nearest_neighbor.op import ResizeNearestNeighbor


def capture_nearest(w, node) -> None:
    capture_resize(w, node, "resize_nearest_neighbor", lambda align: False)


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
