"""The accumulator → output step shared by every op with weights (conv, FC).

    y = clamp(output_offset + accumulator * M[c],  act_min, act_max)
    M[c] = s_in * s_w[c] / s_out                   (computed in double from float32 scales, as TFLM)

int8 activations accumulate in int32 (``fixedpoint.multiply_by_quantized_multiplier``, two
roundings). TFLite's "16x8" scheme (int16 activations, symmetric: zero points 0; int8 weights)
accumulates in int64 when the bias is int64 (``wide``: ``multiply_by_quantized_multiplier_int64``,
one rounding of a Q0.15 multiplier) and in int32 when CONV_2D or FULLY_CONNECTED has an int32 bias
(TFLite Micro's ``requires_int32_accum``: the int8 arithmetic, clamped to int16).

Fused activations are nothing but the clamp: ReLU clamps below at the quantized 0.0 (the
output zero point), ReLU6 also above at the quantized 6.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import DTYPES, RANGES, QuantParams, TensorInfo

ACTIVATIONS = ("none", "relu", "relu6")
WIDE_LIMIT = 2**47  # TFLite's bound on an int64 accumulator (its product with a Q0.15 multiplier fits int64)


def activation_range(activation: str, quant: QuantParams, dtype: str = "int8") -> tuple[int, int]:
    """TFLite's ``CalculateActivationRangeQuantized`` for a fused activation."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unsupported fused activation {activation!r}; supported: {ACTIVATIONS}")

    def q(real: float) -> int:
        v = float(np.float32(real) / np.float32(quant.scale))
        r = np.sign(v) * np.floor(abs(v) + 0.5)
        if not -(2.0**31) <= r <= float(np.float32(2**31 - 1)):  # TFLite Micro's no_integer_overflow_from_quantization
            raise ValueError(f"a fused {activation.upper()} at output scale {quant.scale:g}: {real} would quantize "
                             "outside int32 (TFLite Micro refuses it); the layer's output range is almost 0")
        return quant.zero_point + int(r)

    lo, hi = RANGES[dtype]
    if activation in ("relu", "relu6"):
        lo = max(lo, q(0.0))
    if activation == "relu6":
        hi = min(hi, q(6.0))
    return lo, hi


@dataclass(frozen=True, eq=False)
class Requantize:
    """Per-output-channel fixed-point rescale plus the activation clamp."""

    multiplier: np.ndarray  # int32 [C]
    left_shift: np.ndarray  # int32 [C], >= 0
    right_shift: np.ndarray  # int32 [C], >= 0
    output_offset: int  # output zero point
    act_min: int
    act_max: int
    out_dtype: str = "int8"  # int16: TFLite's 16x8 scheme
    wide: bool = False  # an int64 accumulator (16x8 with an int64 bias): single-rounding requantization

    @classmethod
    def prepare(
        cls,
        input_scale: float,
        weight_scales: np.ndarray,
        output: QuantParams,
        activation: str,
        max_abs_accumulator: int,
        out_dtype: str = "int8",
        wide: bool = False,
    ) -> Requantize:
        if wide:
            return cls._prepare_wide(input_scale, weight_scales, output, activation, max_abs_accumulator)
        if max_abs_accumulator >= 2**31:
            raise OverflowError(
                f"worst-case accumulator {max_abs_accumulator} overflows int32: the layer sums too many products "
                "(split it into layers with fewer inputs each)"
            )
        real = (
            np.float64(np.float32(input_scale))
            * np.asarray(weight_scales, dtype=np.float32).astype(np.float64)
            / np.float64(np.float32(output.scale))
        )
        mult, left, right = fixedpoint.quantize_multipliers(real)
        fixedpoint.check_left_shift_bound(max_abs_accumulator, left)
        lo, hi = activation_range(activation, output, out_dtype)
        return cls(mult, left, right, output.zero_point, lo, hi, out_dtype)

    @classmethod
    def _prepare_wide(cls, input_scale, weight_scales, output, activation, max_abs_accumulator) -> Requantize:
        """16x8 with an int64 bias: TFLite asserts ``|acc| < 2^47`` and a shift in [-31, 7]."""
        if max_abs_accumulator >= WIDE_LIMIT:
            raise OverflowError(f"worst-case int64 accumulator {max_abs_accumulator} reaches 2^47, beyond what "
                                "TFLite's 16x8 requantization handles (the bias is out of range)")
        real = (np.float64(np.float32(input_scale)) * np.asarray(weight_scales, dtype=np.float32).astype(np.float64)
                / np.float64(np.float32(output.scale)))
        mult, left, right = fixedpoint.quantize_multipliers(real)
        if np.any(left - right > 7):
            raise ValueError(f"requantization multiplier {float(real.max()):g} is at least 2^7: TFLite's 16x8 "
                             "kernels do not handle it (an output scale far below input scale x weight scale)")
        lo, hi = activation_range(activation, output, "int16")
        return cls(mult, left, right, output.zero_point, lo, hi, "int16", True)

    def apply(self, acc: np.ndarray) -> np.ndarray:
        """Accumulators with channels last (int32; int64 when ``wide``) → int8 (or ``out_dtype``)."""
        if self.wide:
            scaled = fixedpoint.multiply_by_quantized_multiplier_int64(
                acc, self.multiplier, self.left_shift - self.right_shift)
        else:
            scaled = fixedpoint.multiply_by_quantized_multiplier(
                acc, self.multiplier, self.left_shift, self.right_shift
            )
        out = scaled.astype(np.int64) + self.output_offset
        return np.clip(out, self.act_min, self.act_max).astype(DTYPES[self.out_dtype])


def max_abs_accumulator(depth: int, bias: np.ndarray, input_dtype: str = "int8") -> int:
    """Worst |accumulator|: depth products of |x - z_x| <= 255 (int16, zero point 0: 32768) and
    |w| <= 127, plus the bias."""
    span = 32768 if input_dtype == "int16" else 255
    return depth * span * 127 + int(np.max(np.abs(bias.astype(np.int64)), initial=0))


def activation_types(name: str, x: TensorInfo, y: TensorInfo, bias: np.ndarray,
                     int32_bias: bool = True) -> tuple[str, bool]:
    """(activation type, wide) of a weighted op: int8 in and out with an int32 bias, or TFLite's 16x8:
    int16 in and out, zero points 0, an int64 bias (``wide``: int64 accumulator) or, where TFLite
    Micro allows it (``int32_bias``: CONV_2D, FULLY_CONNECTED), an int32 one. ValueError otherwise."""
    if x.dtype == "int8" and y.dtype == "int8":
        return "int8", False
    if x.dtype != "int16" or y.dtype != "int16":
        raise ValueError(f"{name}: {x.dtype} in, {y.dtype} out: TFLite Micro runs this layer int8 -> int8 or "
                         "int16 -> int16 (16x8) only")
    if x.quant.zero_point != 0 or y.quant.zero_point != 0:
        raise ValueError(f"{name}: int16 activations must be symmetric (zero point 0), got "
                         f"{x.quant.zero_point} in, {y.quant.zero_point} out")
    allowed = (np.int64, np.int32) if int32_bias else (np.int64,)
    if bias.dtype not in allowed:
        raise ValueError(f"{name}: a 16x8 layer takes an {' or '.join(np.dtype(t).name for t in allowed)} bias, "
                         f"not {bias.dtype}")
    return "int16", bias.dtype == np.int64
