"""SUB of two int8 (or int16) operands with broadcasting: TFLite Micro's kernel (``SubElementwise``).

ADD's arithmetic (``add/op.py``) with the second operand subtracted; the multipliers are prepared as
ADD's, the float32 scales' quotients in double (what TFLite Micro computes: checked on ties at several
scale sets, where float32 quotients missed 5-7% of the outputs by one step; ``test_sub.py``):

    M_1 = s_1 / (2·max(s_1, s_2)),  M_2 = s_2 / (2·max),  M_out = 2·max / (2^20 · s_y)
    w_i = round((q_i − z_i) · 2^20 · M_i)          |(q_i − z_i) · 2^20| < 2^28
    q_y = clamp(z_y + round((w_1 − w_2) · M_out), act_min, act_max)

Every multiplier is below one (right shifts only); |w_1 − w_2| < 2^28: no overflow.
int16 operands and output (TFLite's 16x8 models; all three int16, two activations) take the same
steps with 2^15 for 2^20, as TFLite Micro (ADD's int16 path): |w_1 − w_2| < 2^31.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import TensorInfo
from pocketml.ops import broadcast
from pocketml.ops.add.op import LEFT_SHIFT, LEFT_SHIFT_INT16, _smaller_than_one
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
    dtype: str = "int8"  # int16: TFLite's 16x8 models (left shift 15)

    @property
    def left_shift(self) -> int:
        return LEFT_SHIFT_INT16 if self.dtype == "int16" else LEFT_SHIFT


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
        if {a.dtype, b.dtype, y.dtype} not in ({"int8"}, {"int16"}):
            raise ValueError(f"{self.name}: SUB of {a.dtype} and {b.dtype} to {y.dtype}: TFLite Micro subtracts "
                             "int8 or int16 operands of one type (int16: two activations, no constant)")
        shift = LEFT_SHIFT_INT16 if y.dtype == "int16" else LEFT_SHIFT
        out = broadcast.broadcast_shape(self.name, a.shape, b.shape)
        if out != y.shape:
            raise ValueError(f"{self.name}: SUB of {a.shape} and {b.shape} gives {out}, not {y.shape}")
        s1, s2, sy = (np.float64(np.float32(t.quant.scale)) for t in (a, b, y))
        twice_max = 2.0 * max(s1, s2)
        m1, r1 = _smaller_than_one(float(s1 / twice_max), "input 1")
        m2, r2 = _smaller_than_one(float(s2 / twice_max), "input 2")
        mo, ro = _smaller_than_one(float(twice_max / ((1 << shift) * sy)), "output")
        lo, hi = activation_range(self.activation, y.quant, y.dtype)
        return SubData(broadcast.geometry(a.shape, b.shape, out), -a.quant.zero_point, -b.quant.zero_point,
                       m1, r1, m2, r2, mo, ro, y.quant.zero_point, lo, hi, y.dtype)

    def evaluate(self, data: SubData, *xs: np.ndarray) -> np.ndarray:
        a, b = broadcast.batch_operands(self, xs, data.geometry)

        def scaled(q, offset, mult, right):
            shifted = (q.astype(np.int32) + offset) * (1 << data.left_shift)
            return fixedpoint.rounding_divide_by_pot(
                fixedpoint.saturating_rounding_doubling_high_mul(shifted, np.int32(mult)), right)

        raw = (scaled(a, data.input1_offset, data.input1_multiplier, data.input1_right_shift).astype(np.int64)
               - scaled(b, data.input2_offset, data.input2_multiplier, data.input2_right_shift))
        out = fixedpoint.rounding_divide_by_pot(
            fixedpoint.saturating_rounding_doubling_high_mul(raw.astype(np.int32), np.int32(data.output_multiplier)),
            data.output_right_shift).astype(np.int64) + data.output_offset
        return np.clip(out, data.act_min, data.act_max).astype(np.int16 if data.dtype == "int16" else np.int8)
