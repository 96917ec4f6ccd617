"""RESIZE_BILINEAR from PyTorch: ``nn.Upsample(mode="bilinear")`` / ``F.interpolate``, captured and quantized.

PyTorch's ``align_corners=False`` is TFLite's ``half_pixel_centers``; ``align_corners=True`` is TFLite's.
A scale factor must give the output size exactly (PyTorch then maps positions by 1/scale, TFLite by
in/out: the same numbers).
"""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.resize import capture_resize
from pocketml.ops.resize_bilinear.op import ResizeBilinear


def capture_bilinear(w, node) -> None:
    capture_resize(w, node, "resize_bilinear", lambda align: not align)


CAPTURE = {"aten.upsample_bilinear2d.vec": capture_bilinear}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> ResizeBilinear:
    a = layer.attrs
    return ResizeBilinear(layer.name, tuple(t.name for t in xs), out.name, a["align_corners"], a["half_pixel_centers"])


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW."""
    import torch.nn.functional as F

    h, w, _ = layer.out_shape
    return F.interpolate(xs[0], size=(h, w), mode="bilinear", align_corners=layer.attrs['align_corners'])
