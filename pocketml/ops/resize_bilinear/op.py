"""RESIZE_BILINEAR of an [H, W, C] map in 10-bit fixed point: TFLite Micro's ``ResizeBilinearInteger``.

    scale_10 = (2^10 · in + out/2) / out                (align_corners: (2^10 (in−1) + (out−1)/2) / (out−1))
    s        = dst · scale_10  (+ scale_10/2 − 2^9 with half_pixel_centers)
    lo, hi   = max(s / 2^10, 0),  min((s + 2^10 − 1) / 2^10, in − 1)         (C's truncating division)
    w        = s − 2^10 · lo                                                   the weight of ``hi``, /2^10
    q_y      = (Σ q_x[corner] · w_y · w_x + round) / 2^20,  round = ±2^19 by the sign   (int64, truncating)

Input and output share one quantization (no rescale). Each output row's and column's (lo, hi, w) are
computed once, in ``prepare``; |sum| < 2^31 (|q| <= 128, weights <= 2^10·1.5), held in int64 as TFLite does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless


def _div(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def interpolation(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool):
    """(lo, hi, weight of hi) per output position, as TFLite's ``ComputeInterpolationValuesInteger``."""
    scale = _div((1 << 10) * in_size + out_size // 2, out_size)
    if align_corners and out_size > 1:
        scale = _div((1 << 10) * (in_size - 1) + (out_size - 1) // 2, out_size - 1)
    lo, hi, weight = [], [], []
    for dst in range(out_size):
        s = dst * scale + (scale // 2 - (1 << 9) if half_pixel_centers else 0)
        low = max(_div(s, 1 << 10), 0)
        lo.append(low)
        hi.append(min(_div(s + (1 << 10) - 1, 1 << 10), in_size - 1))
        weight.append(s - (1 << 10) * low)
    return tuple(lo), tuple(hi), tuple(weight)


@dataclass(frozen=True)
class ResizeBilinearData:
    y0: tuple[int, ...]
    y1: tuple[int, ...]
    wy: tuple[int, ...]
    x0: tuple[int, ...]
    x1: tuple[int, ...]
    wx: tuple[int, ...]


@dataclass(frozen=True)
class ResizeBilinear(Weightless):
    kind: ClassVar[str] = "resize_bilinear"
    name: str
    inputs: tuple[str, ...]
    output: str
    align_corners: bool = False
    half_pixel_centers: bool = False

    def prepare(self, tensors: dict[str, TensorInfo]) -> ResizeBilinearData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if len(x.shape) != 3 or len(y.shape) != 3 or x.shape[2] != y.shape[2]:
            raise ValueError(f"{self.name}: RESIZE_BILINEAR maps [H, W, C] to [H', W', C], got {x.shape} -> {y.shape}")
        if x.quant != y.quant:
            raise ValueError(f"{self.name}: RESIZE_BILINEAR needs the same quantization on input and output")
        if self.align_corners and self.half_pixel_centers:
            raise ValueError(f"{self.name}: RESIZE_BILINEAR cannot both align corners and center half pixels")
        rows = interpolation(x.shape[0], y.shape[0], self.align_corners, self.half_pixel_centers)
        cols = interpolation(x.shape[1], y.shape[1], self.align_corners, self.half_pixel_centers)
        return ResizeBilinearData(*rows, *cols)

    def evaluate(self, data: ResizeBilinearData, x: np.ndarray) -> np.ndarray:
        q = x.astype(np.int64)
        y0, y1, x0, x1 = (list(v) for v in (data.y0, data.y1, data.x0, data.x1))
        wy = np.array(data.wy, np.int64)[None, :, None, None]
        wx = np.array(data.wx, np.int64)[None, None, :, None]
        one = 1 << 10
        total = (q[:, y0][:, :, x0] * (one - wy) * (one - wx) + q[:, y1][:, :, x0] * wy * (one - wx)
                 + q[:, y0][:, :, x1] * (one - wy) * wx + q[:, y1][:, :, x1] * wy * wx)
        rounded = total + np.where(total > 0, 1 << 19, -(1 << 19))
        out = np.where(rounded >= 0, rounded >> 20, -((-rounded) >> 20))  # C's truncating division
        return out.astype(np.int8)
