"""TILE of an int8 tensor: the input repeated ``multiples[a]`` times along each per-sample axis;
bytes moved, no arithmetic (numpy's ``tile``).

    y[i_0, ..., i_k] = x[i_0 mod d_0, ..., i_k mod d_k]

TFLite Micro has no TILE kernel: the C is checked against this reference and against LiteRT's
reference kernels running the written ``.tflite``. Input and output share quantization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless
from pocketml.ops import gather


@dataclass(frozen=True)
class TileData:
    dims: tuple[int, ...]  # the output's shape, 4 axes
    in_dims: tuple[int, ...]  # the input's shape, 4 axes
    in_strides: tuple[int, ...]


@dataclass(frozen=True)
class Tile(Weightless):
    kind: ClassVar[str] = "tile"
    name: str
    inputs: tuple[str, ...]
    output: str
    multiples: tuple[int, ...]  # per-sample axis

    def prepare(self, tensors: dict[str, TensorInfo]) -> TileData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if len(self.multiples) != len(x.shape) or min(self.multiples, default=1) < 1:
            raise ValueError(f"{self.name}: TILE needs a multiple >= 1 for each of {len(x.shape)} axes, "
                             f"got {list(self.multiples)}")
        want = tuple(d * m for d, m in zip(x.shape, self.multiples, strict=True))
        if y.shape != want or x.quant != y.quant:
            raise ValueError(f"{self.name}: TILE of {x.shape} by {list(self.multiples)} gives {want}, not {y.shape} "
                             "(or the quantization changed)")
        strides = gather.row_major_strides(x.shape)
        return TileData(gather.padded(want), gather.padded(x.shape), gather.padded(strides, 0))

    def evaluate(self, data: TileData, x: np.ndarray) -> np.ndarray:
        return np.tile(x, (1, *self.multiples))
