"""MEAN over axes of an int8 tensor: over height and width (global average pooling, the default),
or any axes that are adjacent once size-1 axes are ignored (the tensor read as [outer, n, inner]).

    real:  y[o, i] = (1/n) Σ_r x[o, r, i]                          n = the reduced elements (H·W)
    int8:  sum = Σ q_x − z_x · n
           q_y = clamp(z_y + sum · M', -128, 127)                  M' = (s_x / s_y) / n

TFLite Micro's ``reference_ops::QuantizedMeanOrSum`` folds 1/n into the multiplier in integers:
``(multiplier, shift) = QuantizeMultiplier(s_x / s_y)``; ``k = min(floor(log2 n), 32, 31 + shift)``;
``multiplier' = (multiplier << k) / n`` (int64, truncating), ``shift' = shift − k``; then the usual
double-rounding ``MultiplyByQuantizedMultiplier``. The output keeps or drops the reduced axes
(same bytes).
Overflow: |sum| <= n·255 must fit int32 and be shiftable by the left shift (checked).
int16 tensors (TFLite's 16x8 models; TFLite Micro runs the same ``QuantizedMeanOrSum`` on int16):
the same steps, the clamp to [−32768, 32767] and |sum| <= n·65535 for the bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import TensorInfo, Weightless


def reduction(name: str, what: str, shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, int, int]:
    """(outer, n, inner): ``shape`` read as [outer, n, inner] with ``axes`` (per sample) reduced; they
    must be adjacent once size-1 axes are left out (a gap would need a strided sum)."""
    rank = len(shape)
    resolved = sorted({a % rank for a in axes}) if rank else []
    if any(not -rank <= a < rank for a in axes) or not resolved:
        raise ValueError(f"{name}: {what} over axes {list(axes)} of a {list(shape)} tensor (per sample)")
    big = [a for a in range(rank) if shape[a] > 1]
    reduced = [a for a in resolved if shape[a] > 1]
    if reduced and big.index(reduced[-1]) - big.index(reduced[0]) + 1 != len(reduced):
        raise ValueError(f"{name}: {what} over axes {resolved} of {list(shape)}: the reduced axes must be adjacent")
    first, last = (reduced[0], reduced[-1]) if reduced else (resolved[0], resolved[0])
    outer = int(np.prod([shape[a] for a in range(first) if a not in resolved], dtype=np.int64))
    inner = int(np.prod([shape[a] for a in range(last + 1, rank) if a not in resolved], dtype=np.int64))
    n = int(np.prod([shape[a] for a in resolved], dtype=np.int64))
    return outer, n, inner


@dataclass(frozen=True)
class MeanData:
    count: int  # n: the reduced elements (H·W)
    input_zero_point: int
    multiplier: int  # multiplier', not normalised
    left_shift: int
    right_shift: int
    output_zero_point: int
    outer: int = 1  # the tensor as [outer, count, inner]
    inner: int = 0  # 0: the channels of an H, W mean
    dtype: str = "int8"  # int16: TFLite's 16x8 models


@dataclass(frozen=True)
class Mean(Weightless):
    kind: ClassVar[str] = "mean"
    name: str
    inputs: tuple[str, ...]
    output: str
    shape: tuple[int, ...]  # per-sample output shape: (C,) or (1, 1, C) for H, W
    axes: tuple[int, ...] | None = None  # per-sample axes; None: H and W of a map

    def prepare(self, tensors: dict[str, TensorInfo]) -> MeanData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if self.axes is None and (len(x.shape) != 3 or y.shape not in ((x.shape[2],), (1, 1, x.shape[2]))):
            raise ValueError(f"{self.name}: MEAN over H, W maps [H, W, C] to [C] or [1, 1, C]; "
                             f"got {x.shape} -> {y.shape}")
        if {x.dtype, y.dtype} not in ({"int8"}, {"int16"}):
            raise ValueError(f"{self.name}: MEAN of {x.dtype} to {y.dtype}: int8 or int16 (TFLite's 16x8), one type")
        outer, count, inner = reduction(self.name, "MEAN", x.shape, (0, 1) if self.axes is None else self.axes)
        if y.shape != self.shape or int(np.prod(y.shape, dtype=np.int64)) != outer * inner:
            raise ValueError(f"{self.name}: MEAN of {x.shape} over {self.axes} gives {outer * inner} values, "
                             f"not {y.shape}")
        mult, left, right = fixedpoint.quantize_multiplier(float(np.float64(x.quant.scale) / np.float64(y.quant.scale)))
        shift = left - right
        k = min(count.bit_length() - 1, 32, 31 + shift)
        mult = int((mult << k) // count) if k >= 0 else int(mult)  # both positive: floor == truncation
        shift -= max(k, 0)
        left, right = max(shift, 0), max(-shift, 0)
        if right > 31:
            raise ValueError(f"{self.name}: MEAN rescale needs a right shift of {right} > 31")
        fixedpoint.check_left_shift_bound(count * (65535 if x.dtype == "int16" else 255), np.array([left]))
        general = self.axes is not None and not (len(x.shape) == 3 and outer == 1 and inner == x.shape[2])
        return MeanData(count, x.quant.zero_point, mult, left, right, y.quant.zero_point,
                        outer, inner if general else 0, x.dtype)

    def evaluate(self, data: MeanData, x: np.ndarray) -> np.ndarray:
        inner = data.inner or x.shape[-1]
        total = x.reshape(x.shape[0], data.outer, data.count, inner).astype(np.int64).sum(axis=2)
        total = (total - data.input_zero_point * data.count).astype(np.int32)
        scaled = fixedpoint.multiply_by_quantized_multiplier(total, np.int32(data.multiplier),
                                                             data.left_shift, data.right_shift)
        info = np.iinfo(np.int16 if data.dtype == "int16" else np.int8)
        out = np.clip(scaled.astype(np.int64) + data.output_zero_point, info.min, info.max).astype(info.dtype)
        return out.reshape(x.shape[0], *self.shape)
