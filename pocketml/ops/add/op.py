"""ADD of two int8 operands, each with its own quantization (residual joins, a per-channel constant).

TFLite Micro's method (``reference_integer_ops::AddFunc``), all constants from ``prepare``:

    s_max2 = 2 · max(s_1, s_2)                              (double, from the float32 scales)
    M_1 = s_1 / s_max2,  M_2 = s_2 / s_max2  (both <= 1/2),  M_out = s_max2 / (2^20 · s_y)
    v_i   = (q_i − z_i) · 2^20                              left_shift = 20: |v_i| <= 255·2^20 < 2^28
    w_i   = round(v_i · M_i)                                SRDHM then rounding right shift
    q_y   = clamp(z_y + round((w_1 + w_2) · M_out), act_min, act_max)

Every multiplier is below one, so only right shifts occur; |w_1 + w_2| < 2^28: no overflow.
int16 operands and output (TFLite's 16x8 models; all three int16, two activations) take the same
steps with left_shift = 15, as TFLite Micro: |q_i − z_i| <= 65535, so |v_i| < 2^31.
A fused ReLU/ReLU6 is the clamp, as for conv. Operands may broadcast (numpy's rule) and one may
be a constant (``pocketml/ops/broadcast.py``): an unfused batch norm's shift, the 3 of ``x + 3``;
the arithmetic per element is the same (TFLite Micro's ``BroadcastAdd6DSlow``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import TensorInfo
from pocketml.ops import broadcast
from pocketml.ops.broadcast import BinaryOperands, Constant
from pocketml.ops.requantize import activation_range
from pocketml.ops.window import POINTWISE, Window

LEFT_SHIFT = 20
LEFT_SHIFT_INT16 = 15  # int16 operands: (q - z) · 2^15 stays in int32


@dataclass(frozen=True)
class AddData:
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
    geometry: broadcast.Geometry | None = None  # None: two operands of the output's shape (a flat loop)
    dtype: str = "int8"  # int16: TFLite's 16x8 models (left shift 15)

    @property
    def left_shift(self) -> int:
        return LEFT_SHIFT_INT16 if self.dtype == "int16" else LEFT_SHIFT


def _smaller_than_one(real: float, what: str) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplierSmallerThanOneExp``: a multiplier in (0, 1), right shift only."""
    if not 0.0 < real < 1.0:
        raise ValueError(f"ADD {what} multiplier {real} must be in (0, 1); the scales are too far apart")
    mult, left, right = fixedpoint.quantize_multiplier(real)
    assert left == 0
    return mult, right


@dataclass(frozen=True)
class Add(BinaryOperands):
    kind: ClassVar[str] = "add"
    in_place: ClassVar[str] = "elementwise"  # may write over a same-size input that dies here
    fuses_activation: ClassVar[bool] = True
    name: str
    inputs: tuple[str, ...]  # two tensors
    output: str
    activation: str = "none"
    constant: Constant | None = None  # the other operand, if constant

    def prepare(self, tensors: dict[str, TensorInfo]) -> AddData:
        a, b = broadcast.operand_infos(self, tensors)
        y = tensors[self.output]
        if {a.dtype, b.dtype, y.dtype} not in ({"int8"}, {"int16"}):
            raise ValueError(f"{self.name}: ADD of {a.dtype} and {b.dtype} to {y.dtype}: TFLite Micro adds int8 or "
                             "int16 operands of one type (int16: two activations, no constant)")
        out = broadcast.broadcast_shape(self.name, a.shape, b.shape)
        if out != y.shape:
            raise ValueError(f"{self.name}: ADD of {a.shape} and {b.shape} gives {out}, not {y.shape}")
        flat = self.constant is None and a.shape == b.shape == y.shape
        geom = None if flat else broadcast.geometry(a.shape, b.shape, out)
        s1, s2, sy = (np.float64(np.float32(t.quant.scale)) for t in (a, b, y))
        twice_max = 2.0 * max(s1, s2)
        m1, r1 = _smaller_than_one(float(s1 / twice_max), "input 1")
        m2, r2 = _smaller_than_one(float(s2 / twice_max), "input 2")
        shift = LEFT_SHIFT_INT16 if y.dtype == "int16" else LEFT_SHIFT
        mo, ro = _smaller_than_one(float(twice_max / ((1 << shift) * sy)), "output")
        lo, hi = activation_range(self.activation, y.quant, y.dtype)
        return AddData(-a.quant.zero_point, -b.quant.zero_point, m1, r1, m2, r2, mo, ro, y.quant.zero_point, lo, hi,
                       geom, y.dtype)

    def window(self) -> Window | None:
        """Element i of the output reads element i of both maps (patch-based execution); a constant
        operand cannot run on patches."""
        return POINTWISE if self.constant is None else None

    def on_patch(self, name: str, inputs: tuple[str, ...], output: str, shape: tuple[int, ...]) -> Add:
        """This ADD on two patches of the same place."""
        return replace(self, name=name, inputs=inputs, output=output)

    def evaluate(self, data: AddData, *xs: np.ndarray) -> np.ndarray:
        a, b = xs if data.geometry is None else broadcast.batch_operands(self, xs, data.geometry)
        def scaled(q, offset, mult, right):
            shifted = (q.astype(np.int32) + offset) * (1 << data.left_shift)
            return fixedpoint.rounding_divide_by_pot(
                fixedpoint.saturating_rounding_doubling_high_mul(shifted, np.int32(mult)), right)

        raw_sum = (scaled(a, data.input1_offset, data.input1_multiplier, data.input1_right_shift)
                   .astype(np.int64)
                   + scaled(b, data.input2_offset, data.input2_multiplier, data.input2_right_shift))
        out = fixedpoint.rounding_divide_by_pot(
            fixedpoint.saturating_rounding_doubling_high_mul(raw_sum.astype(np.int32),
                                                             np.int32(data.output_multiplier)),
            data.output_right_shift).astype(np.int64) + data.output_offset
        return np.clip(out, data.act_min, data.act_max).astype(np.int16 if data.dtype == "int16" else np.int8)
