"""MUL of two int8 operands with broadcasting (squeeze-excite, swish, a per-channel scale): TFLite
Micro's int8 kernel (``reference_integer_ops::MulElementwise`` / ``BroadcastMul6DSlow``).

    M     = s_1 · s_2 / s_y                       (double, from the float32 scales)
    v_k   = q_k − z_k                             |v_k| <= 255
    q_y   = clamp(z_y + (v_1 · v_2) · M, act_min, act_max)     MultiplyByQuantizedMultiplier

|v_1 · v_2| <= 65025, so ``v_1 · v_2 << left_shift`` must fit int32 (checked in ``prepare``).
An operand may be a constant (``pocketml/ops/broadcast.py``); shapes broadcast as numpy's.
A fused ReLU/ReLU6 is the clamp.
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
        out = broadcast.broadcast_shape(self.name, a.shape, b.shape)
        if out != y.shape:
            raise ValueError(f"{self.name}: MUL of {a.shape} and {b.shape} gives {out}, not {y.shape}")
        real = np.float64(a.quant.scale) * np.float64(b.quant.scale) / np.float64(y.quant.scale)
        mult, left, right = fixedpoint.quantize_multiplier(float(real))
        fixedpoint.check_left_shift_bound(255 * 255, np.array([left]))
        lo, hi = activation_range(self.activation, y.quant)
        return MulData(broadcast.geometry(a.shape, b.shape, out), a.quant.zero_point, b.quant.zero_point,
                       y.quant.zero_point, mult, left, right, lo, hi)

    def evaluate(self, data: MulData, *xs: np.ndarray) -> np.ndarray:
        a, b = broadcast.batch_operands(self, xs, data.geometry)
        prod = (a.astype(np.int32) - data.input1_zero_point) * (b.astype(np.int32) - data.input2_zero_point)
        scaled = fixedpoint.multiply_by_quantized_multiplier(prod, np.int32(data.multiplier), data.left_shift,
                                                             data.right_shift)
        return np.clip(scaled.astype(np.int64) + data.output_zero_point, data.act_min, data.act_max).astype(np.int8)

