"""RESIZE_NEAREST_NEIGHBOR of an [H, W, C] map: each output pixel copies one input pixel (TFLite
Micro's ``GetNearestNeighbor``; no arithmetic on the values, one shared quantization).

    scale = (in − 1) / (out − 1)  with align_corners (and out > 1),  else in / out        (float32)
    src   = min(round((dst + o) · scale) if align_corners else floor((dst + o) · scale), in − 1)
    o     = 0.5 with half_pixel_centers (then src >= 0), else 0

The source row and column of every output row and column are computed once, in ``prepare``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless


def nearest_index(dst: int, in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> int:
    """TFLite's source index of output row/column ``dst`` (float32 arithmetic, as its kernel)."""
    f32 = np.float32
    scale = f32(in_size - 1) / f32(out_size - 1) if align_corners and out_size > 1 else f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    v = (f32(dst) + offset) * scale
    src = int(math.floor(abs(float(v)) + 0.5) * (1 if v >= 0 else -1)) if align_corners else int(math.floor(v))
    src = min(src, in_size - 1)
    return max(src, 0) if half_pixel_centers else src


@dataclass(frozen=True)
class ResizeNearestNeighborData:
    rows: tuple[int, ...]  # input row of each output row
    cols: tuple[int, ...]  # input column of each output column


@dataclass(frozen=True)
class ResizeNearestNeighbor(Weightless):
    kind: ClassVar[str] = "resize_nearest_neighbor"
    name: str
    inputs: tuple[str, ...]
    output: str
    align_corners: bool = False
    half_pixel_centers: bool = False

    def prepare(self, tensors: dict[str, TensorInfo]) -> ResizeNearestNeighborData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if len(x.shape) != 3 or len(y.shape) != 3 or x.shape[2] != y.shape[2]:
            raise ValueError(f"{self.name}: RESIZE_NEAREST_NEIGHBOR maps [H, W, C] to [H', W', C], "
                             f"got {x.shape} -> {y.shape}")
        if x.quant != y.quant:
            raise ValueError(f"{self.name}: RESIZE_NEAREST_NEIGHBOR needs the same quantization on input and output")
        rows = tuple(nearest_index(i, x.shape[0], y.shape[0], self.align_corners, self.half_pixel_centers)
                     for i in range(y.shape[0]))
        cols = tuple(nearest_index(i, x.shape[1], y.shape[1], self.align_corners, self.half_pixel_centers)
                     for i in range(y.shape[1]))
        return ResizeNearestNeighborData(rows, cols)

    def evaluate(self, data: ResizeNearestNeighborData, x: np.ndarray) -> np.ndarray:
        return x[:, list(data.rows)][:, :, list(data.cols)]
