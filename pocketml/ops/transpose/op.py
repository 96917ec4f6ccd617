"""TRANSPOSE of an int8 tensor's per-sample axes (the batch stays first): bytes moved, no arithmetic.

    y[i_perm[0], ..., i_perm[k]] = x[i_0, ..., i_k]        numpy's transpose

The C walks the output in order, reading the input through its strides permuted
(``pocketml/ops/gather.py``). Input and output share quantization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless
from pocketml.ops import gather


@dataclass(frozen=True)
class TransposeData:
    dims: tuple[int, ...]  # output shape, 4 axes
    strides: tuple[int, ...]  # input stride of each output axis


@dataclass(frozen=True)
class Transpose(Weightless):
    kind: ClassVar[str] = "transpose"
    name: str
    inputs: tuple[str, ...]
    output: str
    perm: tuple[int, ...]  # per-sample: output axis k is input axis perm[k]

    def prepare(self, tensors: dict[str, TensorInfo]) -> TransposeData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if sorted(self.perm) != list(range(len(x.shape))):
            raise ValueError(f"{self.name}: TRANSPOSE's perm {list(self.perm)} is not a permutation of "
                             f"the {len(x.shape)} axes")
        want = tuple(x.shape[p] for p in self.perm)
        if y.shape != want:
            raise ValueError(f"{self.name}: TRANSPOSE of {x.shape} by {list(self.perm)} gives {want}, not {y.shape}")
        if x.quant != y.quant:
            raise ValueError(f"{self.name}: TRANSPOSE needs the same quantization on input and output")
        in_strides = gather.row_major_strides(x.shape)
        return TransposeData(gather.padded(want), gather.padded(tuple(in_strides[p] for p in self.perm), 0))

    def evaluate(self, data: TransposeData, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.transpose(x, (0, *(p + 1 for p in self.perm))))
