"""SUB of two int8 operands with broadcasting: TFLite Micro's int8 kernel (``SubElementwise``).

ADD's arithmetic (``add/op.py``) with the second operand subtracted, except that TFLite Micro's
SUB prepares its multipliers from float32 quotients (``2·max(s_1, s_2)`` and each ``s_i / that``
computed in float, then widened), where ADD divides in double:

    M_1 = f32(s_1 / f32(2·max)),  M_2 = f32(s_2 / f32(2·max)),  M_out = f32(2·max / f32(2^20 · s_y))
    w_i = round((q_i − z_i) · 2^20 · M_i)          |(q_i − z_i) · 2^20| < 2^28
    q_y = clamp(z_y + round((w_1 − w_2) · M_out), act_min, act_max)

Every multiplier is below one (right shifts only); |w_1 − w_2| < 2^28: no overflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import TensorInfo
from pocketml.ops import broadcast
from pocketml.ops.add.op import LEFT_SHIFT, _smaller_than_one
from pocketml.ops.broadcast import BinaryOperands, Constant
from pocketml.ops.requantize import activation_range


@dataclass(frozen=True)
class SubData:
    geometry: broadcast.Geometry
    input1_offset: int  # −z_1
    input2_offset: int  # −z_2
    input1_multiplier: int
    input1_right_shift: int
    input2_multiplier: int
    input2_right_shift: int
    output_multiplier: int
    output_right_shift: int
    output_offset: int  # z_y
    act_min: int
    act_max: int


@dataclass(frozen=True)
class Sub(BinaryOperands):
    kind: ClassVar[str] = "sub"
    in_place: ClassVar[str] = "elementwise"
    fuses_activation: ClassVar[bool] = True
    name: str
    inputs: tuple[str, ...]
    output: str
    activation: str = "none"
    constant: Constant | None = None

    def prepare(self, tensors: dict[str, TensorInfo]) -> SubData:
        a, b = broadcast.operand_infos(self, tensors)
        y = tensors[self.output]
        out = broadcast.broadcast_shape(self.name, a.shape, b.shape)
        if out != y.shape:
            raise ValueError(f"{self.name}: SUB of {a.shape} and {b.shape} gives {out}, not {y.shape}")
        s1, s2, sy = (np.float32(t.quant.scale) for t in (a, b, y))
        twice_max = np.float32(2) * max(s1, s2)
        m1, r1 = _smaller_than_one(float(np.float32(s1 / twice_max)), "input 1")
        m2, r2 = _smaller_than_one(float(np.float32(s2 / twice_max)), "input 2")
        mo, ro = _smaller_than_one(float(np.float32(twice_max / (np.float32(1 << LEFT_SHIFT) * sy))), "output")
        lo, hi = activation_range(self.activation, y.quant)
        return SubData(broadcast.geometry(a.shape, b.shape, out), -a.quant.zero_point, -b.quant.zero_point,
                       m1, r1, m2, r2, mo, ro, y.quant.zero_point, lo, hi)

    def evaluate(self, data: SubData, *xs: np.ndarray) -> np.ndarray:
        a, b = broadcast.batch_operands(self, xs, data.geometry)

        def scaled(q, offset, mult, right):
            shifted = (q.astype(np.int32) + offset) * (1 << LEFT_SHIFT)
            return fixedpoint.rounding_divide_by_pot(
                fixedpoint.saturating_rounding_doubling_high_mul(shifted, np.int32(mult)), right)

        raw = (scaled(a, data.input1_offset, data.input1_multiplier, data.input1_right_shift).astype(np.int64)
               - scaled(b, data.input2_offset, data.input2_multiplier, data.input2_right_shift))
        out = fixedpoint.rounding_divide_by_pot(
            fixedpoint.saturating_rounding_doubling_high_mul(raw.astype(np.int32), np.int32(data.output_multiplier)),
            data.output_right_shift).astype(np.int64) + data.output_offset
        return np.clip(out, data.act_min, data.act_max).astype(np.int8)
