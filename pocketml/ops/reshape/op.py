"""RESHAPE: the same bytes under a new shape (NHWC flatten is free: no data moves).

The memory planner lets the output alias the input, so the C code emits no call for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless


@dataclass(frozen=True)
class Reshape(Weightless):
    kind: ClassVar[str] = "reshape"
    in_place: ClassVar[str] = "alias"  # the output is the input's bytes: no code, no memory
    name: str
    inputs: tuple[str, ...]
    output: str
    shape: tuple[int, ...]  # per-sample output shape

    def prepare(self, tensors: dict[str, TensorInfo]) -> None:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.nbytes != y.nbytes or x.quant != y.quant or x.dtype != y.dtype:
            raise ValueError(f"{self.name}: RESHAPE must keep the element count, type and quantization")

    def evaluate(self, data: None, x: np.ndarray) -> np.ndarray:
        return x.reshape(x.shape[0], *self.shape)
