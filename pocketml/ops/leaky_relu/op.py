"""LEAKY_RELU: ``y = x`` for x >= 0, ``alpha · x`` below, with rescaling (TFLite Micro's int8 kernel).

    M_identity = s_x / s_y,  M_alpha = s_x · alpha / s_y      (double, from the float32 scales and alpha)
    v          = q_x − z_x
    q_y        = clamp(z_y + v · (M_identity if v >= 0 else M_alpha), −128, 127)

Each multiplier is TFLite's ``QuantizeMultiplier`` (a Q0.31 value and a shift);
|v| <= 255, so ``v << left_shift`` must fit int32 (checked in ``prepare``). ``alpha`` must be
in (0, 1]: 0 is a RELU, a negative slope is not what the kernel was written for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import TensorInfo, Weightless


@dataclass(frozen=True)
class LeakyReLUData:
    input_zero_point: int
    output_zero_point: int
    identity_multiplier: int
    identity_left_shift: int
    identity_right_shift: int
    alpha_multiplier: int
    alpha_left_shift: int
    alpha_right_shift: int


@dataclass(frozen=True)
class LeakyReLU(Weightless):
    kind: ClassVar[str] = "leaky_relu"
    in_place: ClassVar[str] = "elementwise"  # may write over a same-size input that dies here
    name: str
    inputs: tuple[str, ...]
    output: str
    alpha: float  # the slope below zero (TFLite's LeakyReluOptions.alpha, float32)

    def prepare(self, tensors: dict[str, TensorInfo]) -> LeakyReLUData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.shape != y.shape:
            raise ValueError(f"{self.name}: LEAKY_RELU keeps the shape, got {x.shape} -> {y.shape}")
        alpha = float(np.float32(self.alpha))
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"{self.name}: LEAKY_RELU alpha must be in (0, 1], got {self.alpha}")
        s_x, s_y = np.float64(np.float32(x.quant.scale)), np.float64(np.float32(y.quant.scale))
        identity = fixedpoint.quantize_multiplier(float(s_x / s_y))
        slope = fixedpoint.quantize_multiplier(float(s_x * np.float64(alpha) / s_y))
        fixedpoint.check_left_shift_bound(255, np.array([identity[1], slope[1]]))
        return LeakyReLUData(x.quant.zero_point, y.quant.zero_point, *identity, *slope)

    def evaluate(self, data: LeakyReLUData, x: np.ndarray) -> np.ndarray:
        v = x.astype(np.int32) - data.input_zero_point
        up = fixedpoint.multiply_by_quantized_multiplier(v, np.int32(data.identity_multiplier),
                                                         data.identity_left_shift, data.identity_right_shift)
        down = fixedpoint.multiply_by_quantized_multiplier(v, np.int32(data.alpha_multiplier),
                                                           data.alpha_left_shift, data.alpha_right_shift)
        out = np.where(v >= 0, up, down).astype(np.int64) + data.output_zero_point
        return np.clip(out, -128, 127).astype(np.int8)
