"""TRANSPOSE has no PyTorch capture: pocketml holds PyTorch's NCHW tensors as NHWC, so a ``permute``
changes what later layers mean by each axis (refused, naming the layer); TRANSPOSE comes from
``.tflite`` files (a PyTorch-converted model's NCHW → NHWC first op) and from an ``nn.LSTM``'s
capture as the sequence op (``graph/recurrent.py``: the graph's [I, T] signal to the op's rows)."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops.transpose.op import Transpose

CAPTURE: dict = {}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Transpose:
    return Transpose(layer.name, tuple(t.name for t in xs), out.name, tuple(layer.attrs["perm"]))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The permutation of the per-sample axes, the batch first; ``attrs["torch_perm"]``: the
    permutation PyTorch's value sees instead (an LSTM's [T, I] rows made from the graph's [I, T]
    signal are PyTorch's [N, T, I] unchanged: ``graph/recurrent.py``)."""
    perm = layer.attrs.get("torch_perm", layer.attrs["perm"])
    return xs[0].permute(0, *(p + 1 for p in perm))
