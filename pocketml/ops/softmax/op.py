"""SOFTMAX over the last axis, int8 in, int8 (or int16) out, by TFLite Micro's fixed-point method.

The output is fixed by TFLite: scale 1/256, zero point −128 (a probability p is q = 256·p − 128);
an int16 output (TFLite Micro's audio models, read by a QUANTIZE) has scale 1/65536 (within 0.1%)
and zero point −32768, and the same arithmetic with 16 output bits (2^(bits + 31 − 16), −32768).
For each row (``reference_ops::Softmax`` with gemmlowp's fixed point; ``beta`` scales the input):

    d[c]  = q_x[c] − max_c q_x                      (<= 0)
    skip taps with d < diff_min (their exp is 0 in Q0.31)
    e[c]  = exp(β·d[c]·s_x) in Q0.31                 d rescaled to Q5.26 by multiplier·2^left_shift,
                                                     then exp_on_negative_values (fixedpoint.py)
    S     = Σ e[c] in Q12.19                          (each e rescaled by a rounding shift of 12)
    1/S   = scale · 2^-bits                           (GetReciprocal: Newton-Raphson in Q2.29)
    q_y   = clamp(round(scale · e[c] / 2^(bits + 31 − 8)) − 128, −128, 127)

Constants (``prepare``): real = min(β · s_x · 2^26, 2^31 − 1) (double(β)·double(s_x), as TFLM)
→ (multiplier, left_shift) with ``QuantizeMultiplierGreaterThanOne``;
diff_min = −floor(31 · 2^26 / 2^left_shift). Overflow: the rescaled difference
|d|·2^left_shift <= 31·2^26 < 2^31 whenever d >= diff_min; S <= depth·2^19 needs depth < 4096 (checked).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import QuantParams, TensorInfo, Weightless
from pocketml.ops.softmax import int16

OUTPUT_QUANT = QuantParams(1.0 / 256.0, -128)
SCALED_DIFF_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12


@dataclass(frozen=True)
class SoftmaxData:
    input_multiplier: int
    input_left_shift: int
    diff_min: int
    output_bits: int = 8  # 16: an int16 output


@dataclass(frozen=True)
class Softmax(Weightless):
    kind: ClassVar[str] = "softmax"
    name: str
    inputs: tuple[str, ...]
    output: str
    beta: float = 1.0  # TFLite SoftmaxOptions.beta (float32)

    def prepare(self, tensors: dict[str, TensorInfo]) -> SoftmaxData | int16.Softmax16Data:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.dtype == "int16":
            return self._prepare_int16(x, y)
        if y.dtype == "int16":
            if y.quant.zero_point != -32768 or abs(y.quant.scale - 1 / 65536) > 0.001 / 65536:
                raise ValueError(f"{self.name}: an int16 SOFTMAX output must have scale 1/65536 and zero point "
                                 f"-32768 (TFLite Micro), got {y.quant}")
        elif y.quant != OUTPUT_QUANT or y.dtype != "int8":
            raise ValueError(f"{self.name}: an int8 SOFTMAX output must have scale 1/256 and zero point -128, "
                             f"got {y.quant}")
        if x.dtype != "int8":
            raise ValueError(f"{self.name}: SOFTMAX reads int8, got {x.dtype}")
        if x.shape != y.shape or x.shape[-1] >= 4096:
            raise ValueError(f"{self.name}: SOFTMAX keeps the shape and needs < 4096 classes, "
                             f"got {x.shape} -> {y.shape}")
        if not (np.isfinite(self.beta) and self.beta > 0):
            raise ValueError(f"{self.name}: SOFTMAX beta must be finite and > 0, got {self.beta}")
        real = min(np.float64(np.float32(self.beta)) * np.float64(np.float32(x.quant.scale))
                   * (1 << (31 - SCALED_DIFF_INTEGER_BITS)),
                   (1 << 31) - 1.0)
        if real <= 1.0:
            raise ValueError(f"{self.name}: input scale {x.quant.scale} is too small for TFLite's softmax")
        mult, left, right = fixedpoint.quantize_multiplier(float(real))
        assert right == 0
        radius = math.floor(((1 << SCALED_DIFF_INTEGER_BITS) - 1) * (1 << (31 - SCALED_DIFF_INTEGER_BITS))
                            / (1 << left))
        return SoftmaxData(mult, left, -radius, 16 if y.dtype == "int16" else 8)

    def _prepare_int16(self, x: TensorInfo, y: TensorInfo) -> int16.Softmax16Data:
        """int16 in and out (TFLite's 16x8 models): zero points 0, the output scale 1/32768 (TFLite Micro)."""
        if y.dtype != "int16" or (x.quant.zero_point, y.quant.zero_point) != (0, 0) or \
                abs(y.quant.scale - 1 / 32768) > 0.001 / 32768:
            raise ValueError(f"{self.name}: a SOFTMAX reading int16 writes int16 at scale 1/32768, zero points 0 "
                             f"(TFLite Micro), got {x.quant} -> {y.dtype} {y.quant}")
        if x.shape != y.shape or not (np.isfinite(self.beta) and self.beta > 0):
            raise ValueError(f"{self.name}: SOFTMAX keeps the shape and needs beta > 0, got {x.shape} -> {y.shape}, "
                             f"beta {self.beta}")
        return int16.prepare(self.name, x.quant.scale, self.beta)

    def evaluate(self, data: SoftmaxData | int16.Softmax16Data, x: np.ndarray) -> np.ndarray:
        if isinstance(data, int16.Softmax16Data):
            return int16.evaluate(data, x)
        q = x.astype(np.int32)
        diff = q - q.max(axis=-1, keepdims=True)
        used = diff >= data.diff_min
        rescaled = fixedpoint.saturating_rounding_doubling_high_mul(
            np.where(used, diff, 0) * (1 << data.input_left_shift), np.int32(data.input_multiplier))
        exp = fixedpoint.exp_on_negative_values_q5(rescaled)
        exp_accum = fixedpoint.saturating_rounding_multiply_by_pot(exp, -ACCUMULATION_INTEGER_BITS)
        sum_of_exps = np.where(used, exp_accum, 0).astype(np.int64).sum(axis=-1, keepdims=True).astype(np.int32)
        scale, bits = fixedpoint.get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS)
        exponent = bits + 31 - data.output_bits
        if np.any((exponent < 0) | (exponent > 31)):
            raise OverflowError(f"{self.name}: softmax output exponent out of [0, 31]")
        unsat = fixedpoint.rounding_divide_by_pot(fixedpoint.saturating_rounding_doubling_high_mul(scale, exp),
                                                  np.broadcast_to(exponent, exp.shape))
        lo, hi = -(1 << (data.output_bits - 1)), (1 << (data.output_bits - 1)) - 1
        out = np.clip(unsat.astype(np.int64) + lo, lo, hi)
        return np.where(used, out, lo).astype(np.int16 if data.output_bits == 16 else np.int8)
