"""RELU on its own (when no conv/linear/add before it can take it as a fused clamp).

TFLite Micro's int8 ReLU rescales as it clamps, so input and output may be quantized differently:

    M     = s_x / s_y                          (double division of the float32 scales, as TFLM)
    q_y   = clamp(z_y + (q_x − z_x) · M, max(z_y, −128), 127)

``(q_x − z_x) << left_shift`` must fit int32: |q_x − z_x| <= 255, checked in ``prepare``.
When the quantizer gives both sides the same parameters, M = 1 and the op is an exact clamp.
int16 tensors (TFLite's 16x8 models): the same steps, zero points 0 (TFLite Micro requires them),
the clamp [0, 32767] and |q_x| <= 32768 for the left-shift bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import TensorInfo, Weightless


@dataclass(frozen=True)
class ReLUData:
    input_zero_point: int
    multiplier: int
    left_shift: int
    right_shift: int
    output_zero_point: int
    act_min: int
    act_max: int
    dtype: str = "int8"  # int16: TFLite's 16x8 models


@dataclass(frozen=True)
class ReLU(Weightless):
    kind: ClassVar[str] = "relu"
    in_place: ClassVar[str] = "elementwise"  # may write over a same-size input that dies here
    name: str
    inputs: tuple[str, ...]
    output: str

    def prepare(self, tensors: dict[str, TensorInfo]) -> ReLUData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.shape != y.shape:
            raise ValueError(f"{self.name}: RELU keeps the shape, got {x.shape} -> {y.shape}")
        if {x.dtype, y.dtype} not in ({"int8"}, {"int16"}):
            raise ValueError(f"{self.name}: RELU of {x.dtype} to {y.dtype}: int8 or int16 (TFLite's 16x8), one type")
        wide = x.dtype == "int16"
        if wide and (x.quant.zero_point, y.quant.zero_point) != (0, 0):
            raise ValueError(f"{self.name}: an int16 RELU needs zero points 0 (TFLite Micro), got "
                             f"{x.quant.zero_point} and {y.quant.zero_point}")
        real = float(np.float64(np.float32(x.quant.scale)) / np.float64(np.float32(y.quant.scale)))
        mult, left, right = fixedpoint.quantize_multiplier(real)
        fixedpoint.check_left_shift_bound(32768 if wide else 255, np.array([left]))
        lo, hi = (-32768, 32767) if wide else (-128, 127)
        return ReLUData(x.quant.zero_point, mult, left, right, y.quant.zero_point,
                        max(lo, y.quant.zero_point), hi, x.dtype)

    def evaluate(self, data: ReLUData, x: np.ndarray) -> np.ndarray:
        v = fixedpoint.multiply_by_quantized_multiplier(x.astype(np.int32) - data.input_zero_point,
                                                        np.int32(data.multiplier), data.left_shift, data.right_shift)
        return np.clip(v.astype(np.int64) + data.output_zero_point, data.act_min, data.act_max).astype(x.dtype)
