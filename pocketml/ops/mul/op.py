"""MUL of two int8 operands with broadcasting (squeeze-excite, swish, a per-channel scale): TFLite
Micro's int8 kernel (``reference_integer_ops::MulElementwise`` / ``BroadcastMul6DSlow``).

    M     = s_1 · s_2 / s_y                       (double, from the float32 scales)
    v_k   = q_k − z_k                             |v_k| <= 255
    q_y   = clamp(z_y + (v_1 · v_2) · M, act_min, act_max)     MultiplyByQuantizedMultiplier

|v_1 · v_2| <= 65025, so ``v_1 · v_2 << left_shift`` must fit int32 (checked in ``prepare``).
An operand may be a constant (``pocketml/ops/broadcast.py``); shapes broadcast as numpy's.
A fused ReLU/ReLU6 is the clamp. int16 operands and output (TFLite's 16x8 models; all three int16,
zero points 0 as TFLite Micro requires) take the same steps (its ``MulElementwise`` on int16):
|v_1 · v_2| <= 2^30, so only a left shift of 0 fits int32 (checked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import TensorInfo
from pocketml.ops import broadcast
from pocketml.ops.broadcast import BinaryOperands, Constant
from pocketml.ops.requantize import activation_range


@dataclass(frozen=True)
class MulData:
    geometry: broadcast.Geometry
    input1_zero_point: int
    input2_zero_point: int
    output_zero_point: int
    multiplier: int
    left_shift: int
    right_shift: int
    act_min: int
    act_max: int
    dtype: str = "int8"  # int16: TFLite's 16x8 models


@dataclass(frozen=True)
class Mul(BinaryOperands):
    kind: ClassVar[str] = "mul"
    in_place: ClassVar[str] = "elementwise"  # a same-size operand is read at the output's index
    fuses_activation: ClassVar[bool] = True
    name: str
    inputs: tuple[str, ...]  # one or two activations
    output: str
    activation: str = "none"
    constant: Constant | None = None  # the other operand, if constant

    def prepare(self, tensors: dict[str, TensorInfo]) -> MulData:
        a, b = broadcast.operand_infos(self, tensors)
        y = tensors[self.output]
        if {a.dtype, b.dtype, y.dtype} not in ({"int8"}, {"int16"}):
            raise ValueError(f"{self.name}: MUL of {a.dtype} and {b.dtype} to {y.dtype}: TFLite Micro multiplies "
                             "int8 or int16 operands of one type (int16: activations, no constant)")
        wide = y.dtype == "int16"
        if wide and (a.quant.zero_point, b.quant.zero_point, y.quant.zero_point) != (0, 0, 0):
            raise ValueError(f"{self.name}: an int16 MUL needs zero points 0 (TFLite Micro), got "
                             f"{[a.quant.zero_point, b.quant.zero_point, y.quant.zero_point]}")
        out = broadcast.broadcast_shape(self.name, a.shape, b.shape)
        if out != y.shape:
            raise ValueError(f"{self.name}: MUL of {a.shape} and {b.shape} gives {out}, not {y.shape}")
        real = np.float64(a.quant.scale) * np.float64(b.quant.scale) / np.float64(y.quant.scale)
        mult, left, right = fixedpoint.quantize_multiplier(float(real))
        fixedpoint.check_left_shift_bound(1 << 30 if wide else 255 * 255, np.array([left]))
        lo, hi = activation_range(self.activation, y.quant, y.dtype)
        return MulData(broadcast.geometry(a.shape, b.shape, out), a.quant.zero_point, b.quant.zero_point,
                       y.quant.zero_point, mult, left, right, lo, hi, y.dtype)

    def evaluate(self, data: MulData, *xs: np.ndarray) -> np.ndarray:
        a, b = broadcast.batch_operands(self, xs, data.geometry)
        prod = (a.astype(np.int32) - data.input1_zero_point) * (b.astype(np.int32) - data.input2_zero_point)
        scaled = fixedpoint.multiply_by_quantized_multiplier(prod, np.int32(data.multiplier), data.left_shift,
                                                             data.right_shift)
        return np.clip(scaled.astype(np.int64) + data.output_zero_point, data.act_min, data.act_max).astype(
            np.int16 if data.dtype == "int16" else np.int8)

