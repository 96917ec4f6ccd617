"""MEAN over height and width (global average pooling): one value per channel.

    real:  y[c] = (1/n) Σ_{h,w} x[h,w,c]                          n = H·W
    int8:  sum[c] = Σ q_x[h,w,c] − z_x · n
           q_y[c] = clamp(z_y + sum[c] · M', -128, 127)           M' = (s_x / s_y) / n

TFLite Micro's ``reference_ops::QuantizedMeanOrSum`` folds 1/n into the multiplier in integers:
``(multiplier, shift) = QuantizeMultiplier(s_x / s_y)``; ``k = min(floor(log2 n), 32, 31 + shift)``;
``multiplier' = (multiplier << k) / n`` (int64, truncating), ``shift' = shift − k``; then the usual
double-rounding ``MultiplyByQuantizedMultiplier``. The output may be [C] or [1, 1, C] (same bytes).
Overflow: |sum| <= n·255 must fit int32 and be shiftable by the left shift (checked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import TensorInfo, Weightless


@dataclass(frozen=True)
class MeanData:
    count: int  # n = H·W
    input_zero_point: int
    multiplier: int  # multiplier', not normalised
    left_shift: int
    right_shift: int
    output_zero_point: int


@dataclass(frozen=True)
class Mean(Weightless):
    kind: ClassVar[str] = "mean"
    name: str
    inputs: tuple[str, ...]
    output: str
    shape: tuple[int, ...]  # per-sample output shape: (C,) or (1, 1, C)

    def prepare(self, tensors: dict[str, TensorInfo]) -> MeanData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if len(x.shape) != 3 or y.shape != self.shape or y.shape not in ((x.shape[2],), (1, 1, x.shape[2])):
            raise ValueError(f"{self.name}: MEAN over H, W maps [H, W, C] to [C] or [1, 1, C]; "
                             f"got {x.shape} -> {y.shape}")
        count = x.shape[0] * x.shape[1]
        mult, left, right = fixedpoint.quantize_multiplier(float(np.float64(x.quant.scale) / np.float64(y.quant.scale)))
        shift = left - right
        k = min(count.bit_length() - 1, 32, 31 + shift)
        mult = int((mult << k) // count) if k >= 0 else int(mult)  # both positive: floor == truncation
        shift -= max(k, 0)
        left, right = max(shift, 0), max(-shift, 0)
        if right > 31:
            raise ValueError(f"{self.name}: MEAN rescale needs a right shift of {right} > 31")
        fixedpoint.check_left_shift_bound(count * 255, np.array([left]))
        return MeanData(count, x.quant.zero_point, mult, left, right, y.quant.zero_point)

    def evaluate(self, data: MeanData, x: np.ndarray) -> np.ndarray:
        total = x.reshape(x.shape[0], -1, x.shape[-1]).astype(np.int64).sum(axis=1)
        total = (total - data.input_zero_point * data.count).astype(np.int32)
        scaled = fixedpoint.multiply_by_quantized_multiplier(total, np.int32(data.multiplier),
                                                             data.left_shift, data.right_shift)
        out = np.clip(scaled.astype(np.int64) + data.output_zero_point, -128, 127).astype(np.int8)
        return out.reshape(x.shape[0], *self.shape)
