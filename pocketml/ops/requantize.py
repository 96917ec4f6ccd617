"""The int32 accumulator → int8 output step shared by every op with weights (conv, FC).

    y = clamp(output_offset + accumulator * M[c],  act_min, act_max)
    M[c] = s_in * s_w[c] / s_out                   (computed in double from float32 scales, as TFLM)

Fused activations are nothing but the clamp: ReLU clamps below at the quantized 0.0 (the
output zero point), ReLU6 also above at the quantized 6.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import QuantParams

ACTIVATIONS = ("none", "relu", "relu6")


def activation_range(activation: str, quant: QuantParams) -> tuple[int, int]:
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

    lo, hi = -128, 127
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

    @classmethod
    def prepare(
        cls,
        input_scale: float,
        weight_scales: np.ndarray,
        output: QuantParams,
        activation: str,
        max_abs_accumulator: int,
    ) -> Requantize:
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
        lo, hi = activation_range(activation, output)
        return cls(mult, left, right, output.zero_point, lo, hi)

    def apply(self, acc: np.ndarray) -> np.ndarray:
        """int32 accumulators with channels last → int8."""
        scaled = fixedpoint.multiply_by_quantized_multiplier(
            acc, self.multiplier, self.left_shift, self.right_shift
        )
        out = scaled.astype(np.int64) + self.output_offset
        return np.clip(out, self.act_min, self.act_max).astype(np.int8)


def max_abs_accumulator(depth: int, bias: np.ndarray) -> int:
    """Worst |accumulator|: depth products of |x - z_x| <= 255 and |w| <= 127, plus the bias."""
    return depth * 255 * 127 + int(np.max(np.abs(bias.astype(np.int64)), initial=0))
