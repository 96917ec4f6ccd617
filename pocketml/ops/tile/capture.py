"""TILE from PyTorch: ``x.repeat(...)`` (never along the batch), captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer, nhwc_axis
from pocketml.ops.tile.op import Tile


def capture_repeat(w, node) -> None:
    a = w.args(node)
    src = w.tensor(node, a["self"])
    w.no_permuted_flat(node, src, "a repeat")
    rank = len(a["self"].meta["val"].shape)
    repeats = [int(v) for v in a["repeats"]]
    if len(repeats) != rank or repeats[0] != 1:
        raise w.fail(node, f"repeat {repeats}: one count per axis, 1 for the batch")
    shape = w.shape_of[src]
    multiples = [1] * len(shape)
    for dim in range(1, rank):
        multiples[nhwc_axis(dim, rank)] = repeats[dim]
    out = tuple(d * m for d, m in zip(shape, multiples, strict=True))
    w.add(node, FloatLayer("tile", w.new_name("tile"), node.name, out,
                           attrs={"multiples": tuple(multiples), "repeats": tuple(repeats)}, inputs=(src,)))


CAPTURE = {"aten.repeat.default": capture_repeat}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Tile:
    return Tile(layer.name, tuple(t.name for t in xs), out.name, layer.attrs["multiples"])


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The repeat in float PyTorch (NCHW; a signal runs as (N, C, 1, W))."""
    repeats = list(layer.attrs["repeats"])
    if xs[0].dim() == 4 and len(repeats) == 3:
        repeats.insert(2, 1)
    return xs[0].repeat(*repeats)
