"""PAD with zeros on height and width: the border holds the quantized 0.0 (the zero point).

    q_y[y, x, c] = q_x[y − top, x − left, c] inside, z inside the border     (z = z_x = z_y)

Input and output share quantization (TFLite Micro pads an int8 tensor with the output zero
point and does not rescale). No arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless


@dataclass(frozen=True)
class PadData:
    pad_value: int


@dataclass(frozen=True)
class Pad(Weightless):
    kind: ClassVar[str] = "pad"
    name: str
    inputs: tuple[str, ...]
    output: str
    paddings: tuple[tuple[int, int], tuple[int, int]]  # ((top, bottom), (left, right))

    def prepare(self, tensors: dict[str, TensorInfo]) -> PadData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        (top, bottom), (left, right) = self.paddings
        if min(top, bottom, left, right) < 0:
            raise ValueError(f"{self.name}: PAD takes non-negative paddings, got {self.paddings}")
        if x.quant != y.quant:
            raise ValueError(f"{self.name}: PAD needs the same quantization on input and output")
        want = (x.shape[0] + top + bottom, x.shape[1] + left + right, x.shape[2]) if len(x.shape) == 3 else None
        if y.shape != want:
            raise ValueError(f"{self.name}: PAD of {x.shape} by {self.paddings} gives {want}, not {y.shape}")
        return PadData(y.quant.zero_point)

    def evaluate(self, data: PadData, x: np.ndarray) -> np.ndarray:
        (top, bottom), (left, right) = self.paddings
        return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=data.pad_value)
