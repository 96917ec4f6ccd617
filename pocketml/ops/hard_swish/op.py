"""HARD_SWISH, ``y = x · relu6(x + 3) / 6``: TFLite Micro's int8 kernel, in int16 fixed point.

``prepare`` (float32 scales, as TFLite Micro's ``HardSwishPrepare``):

    s_hires   = s_x / 128                          the input on a 7-bit finer scale
    M_out     = s_hires / s_y,    M_relu = s_hires / (3 / 32768)      (float32 quotients)
    each → QuantizeMultiplier (Q0.31, signed exponent) → rounded to Q0.15 (int16)

per element (int16 arithmetic, ``reference_ops::HardSwish``):

    v      = (q_x − z_x) · 128                     |q_x − z_x| <= 255: fits int16
    pre    = SRDHM16(v, M_out)                     the input on the output's scale
    relu   = v, saturating-shifted left by e_relu − 1, SRDHM16 by M_relu, shifted left by 1
             (e_relu > 0) or rounding-divided by 2^−e_relu (e_relu < 0)
    relu   = (relu + 2^15) >> 1                    "relu6(x + 3) / 6" in [0, 1] as Q0.15
    q_y    = clamp(z_y + RoundingDivideByPOT(DoublingHighMul16(relu, pre), −e_out), −128, 127)

``e_out`` must be <= 0 (TFLite Micro refuses otherwise; checked). The 256 possible outputs are
computed once, in ``prepare``, and looked up (``pocketml/ops/table.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless
from pocketml.ops import table

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def quantize_multiplier_int16(real: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplier`` (signed exponent) then ``DownScaleInt32ToInt16Multiplier``."""
    if real == 0.0:
        return 0, 0
    fraction, exponent = math.frexp(real)
    q = int(math.floor(fraction * (1 << 31) + 0.5))
    if q == 1 << 31:
        q //= 2
        exponent += 1
    if exponent < -31:
        return 0, 0
    if q >= (1 << 31) - 1 - (1 << 15):
        return INT16_MAX, exponent
    return (q + (1 << 15)) >> 16, exponent


def _srdhm16(a: int, b: int) -> int:
    """gemmlowp's int16 SaturatingRoundingDoublingHighMul."""
    if a == b == INT16_MIN:
        return INT16_MAX
    ab = a * b
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    t = ab + nudge
    return t // (1 << 15) if t >= 0 else -((-t) // (1 << 15))  # C's truncating division


def _doubling_high_mul16(a: int, b: int) -> int:
    """TFLite's int16 SaturatingDoublingHighMul (truncating, no nudge)."""
    if a == b == INT16_MIN:
        return INT16_MAX
    ab = a * b
    return ab // (1 << 15) if ab >= 0 else -((-ab) // (1 << 15))


def _saturating_left_shift16(v: int, amount: int) -> int:
    return max(INT16_MIN, min(INT16_MAX, v * (1 << amount)))


def _rounding_divide_by_pot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


@dataclass(frozen=True)
class HardSwishData:
    input_zero_point: int
    output_zero_point: int
    output_multiplier: int  # Q0.15
    output_exponent: int  # <= 0
    reluish_multiplier: int  # Q0.15
    reluish_exponent: int  # signed
    table: tuple[int, ...]


@dataclass(frozen=True)
class HardSwish(Weightless):
    kind: ClassVar[str] = "hard_swish"
    in_place: ClassVar[str] = "elementwise"
    name: str
    inputs: tuple[str, ...]
    output: str

    def prepare(self, tensors: dict[str, TensorInfo]) -> HardSwishData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.shape != y.shape:
            raise ValueError(f"{self.name}: HARD_SWISH keeps the shape, got {x.shape} -> {y.shape}")
        hires = np.float32(1.0 / 128.0) * np.float32(x.quant.scale)
        out_m, out_e = quantize_multiplier_int16(float(np.float32(hires / np.float32(y.quant.scale))))
        relu_m, relu_e = quantize_multiplier_int16(float(np.float32(hires / np.float32(3.0 / 32768.0))))
        if out_e > 0:
            raise ValueError(f"{self.name}: HARD_SWISH needs s_x / 128 <= s_y (output exponent {out_e} > 0); "
                             f"input scale {x.quant.scale}, output scale {y.quant.scale}")
        z_x, z_y = x.quant.zero_point, y.quant.zero_point

        def one(q: int) -> int:
            v = (q - z_x) * 128
            pre = _srdhm16(v, out_m)
            relu = v
            if relu_e > 0:
                relu = _saturating_left_shift16(relu, relu_e - 1)
            relu = _srdhm16(relu, relu_m)
            if relu_e > 0:
                relu = _saturating_left_shift16(relu, 1)
            if relu_e < 0:
                relu = _rounding_divide_by_pot(relu, -relu_e)
            relu = (relu + (1 << 15)) >> 1
            out = _rounding_divide_by_pot(_doubling_high_mul16(relu, pre), -out_e) + z_y
            return max(-128, min(127, out))

        values = table.build(lambda qs: np.array([one(int(q)) for q in qs]))
        return HardSwishData(z_x, z_y, out_m, out_e, relu_m, relu_e, values)

    def evaluate(self, data: HardSwishData, x: np.ndarray) -> np.ndarray:
        return table.lookup(data.table, x)
