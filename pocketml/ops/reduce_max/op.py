"""REDUCE_MAX over axes of an int8 tensor: the largest value, no arithmetic (TFLite Micro's
``ReduceGeneric`` with a max reducer on the raw int8 values; it requires the output to keep the
input's scale, and pocketml also its zero point, so the raw maximum is the real one).

The reduced axes must be adjacent once size-1 axes are ignored: the tensor is read as
[outer, n, inner] (``mean/op.py: reduction``) and each of outer × inner outputs is a max over n.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless
from pocketml.ops.mean.op import reduction


@dataclass(frozen=True)
class ReduceMaxData:
    outer: int
    count: int
    inner: int


@dataclass(frozen=True)
class ReduceMax(Weightless):
    kind: ClassVar[str] = "reduce_max"
    name: str
    inputs: tuple[str, ...]
    output: str
    shape: tuple[int, ...]  # per-sample output shape (reduced axes kept as 1 or dropped)
    axes: tuple[int, ...]  # per-sample axes

    def prepare(self, tensors: dict[str, TensorInfo]) -> ReduceMaxData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.quant != y.quant:
            raise ValueError(f"{self.name}: REDUCE_MAX needs the same quantization on input and output")
        outer, count, inner = reduction(self.name, "REDUCE_MAX", x.shape, self.axes)
        if y.shape != self.shape or y.nbytes != outer * inner:
            raise ValueError(f"{self.name}: REDUCE_MAX of {x.shape} over {self.axes} gives {outer * inner} values, "
                             f"not {y.shape}")
        return ReduceMaxData(outer, count, inner)

    def evaluate(self, data: ReduceMaxData, x: np.ndarray) -> np.ndarray:
        blocks = x.reshape(x.shape[0], data.outer, data.count, data.inner)
        return blocks.max(axis=2).reshape(x.shape[0], *self.shape)
