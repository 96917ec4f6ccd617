"""QUANTIZE has no PyTorch layer (a float model has no 8-bit edges); a layer of this kind (built by
hand) is the identity in float."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.quantize.op import Quantize

CAPTURE: dict = {}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Quantize:
    return Quantize(layer.name, tuple(t.name for t in xs), out.name)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The identity: a requantize changes the int8 parameters, not the real value."""
    return xs[0]
