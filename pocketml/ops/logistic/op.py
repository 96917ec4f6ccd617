"""LOGISTIC (sigmoid), int8 in, int8 out at TFLite's fixed (1/256, −128): TFLite Micro's int8 kernel.

    (M, e) = frexp(s_x · 2^27)                    the input rescaled to Q4.27 (4 integer bits)
    M      = round(M · 2^31)                       Q0.31 multiplier; e is a signed shift
    r      = floor(15 · 2^27 / 2^e)               input radius: beyond it the output saturates
    v      = q_x − z_x
    q_y    = −128 if v <= −r;  127 if v >= r;
             else clamp(RoundingDivideByPOT(logistic_Q4(v · M · 2^e), 23) − 128, −128, 127)

``logistic_Q4`` is gemmlowp's fixed-point logistic (``graph/fixedpoint.py``: exp on negative
values, then a Newton-Raphson reciprocal), Q0.31 out. Inside the radius |v · M · 2^e| < 15 · 2^27,
so the shifted value fits int32 (checked). The 256 possible outputs are computed once, in
``prepare``, and looked up (``pocketml/ops/table.py``).

int16 in and out (TFLite's 16x8 models): TFLite Micro's int16 kernel, input zero point 0, output
(1/32768, 0), an interpolation in its 256-entry sigmoid table with the input scaling its Prepare picks
from the input scale (``pocketml/ops/sigmoid16.py``, shared with the LSTM's gates).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import QuantParams, TensorInfo, Weightless
from pocketml.ops import sigmoid16, table

OUTPUT_QUANT = QuantParams(1.0 / 256.0, -128)
INPUT_INTEGER_BITS = 4


@dataclass(frozen=True)
class LogisticData:
    input_multiplier: int
    input_shift: int  # signed exponent e (TFLite's input_left_shift)
    input_range_radius: int
    table: tuple[int, ...]


def input_rescale(name: str, what: str, s_x: float) -> tuple[int, int, int]:
    """(multiplier, signed shift, radius) that take q_x − z_x to Q4.27, as TFLite Micro's LOGISTIC
    and TANH prepare them (``frexp`` of ``s_x · 2^27``, ``CalculateInputRadius``)."""
    fraction, shift = math.frexp(float(np.float32(s_x)) * float(1 << (31 - INPUT_INTEGER_BITS)))
    multiplier = int(math.floor(fraction * (1 << 31) + 0.5))
    if multiplier >= 1 << 31 or shift < 0:
        raise ValueError(f"{name}: {what} input scale {s_x} is outside what the int8 kernel handles")
    radius = math.floor(((1 << INPUT_INTEGER_BITS) - 1) * float(1 << (31 - INPUT_INTEGER_BITS)) / float(1 << shift))
    fixedpoint.check_left_shift_bound(radius, np.array([shift]))
    return multiplier, shift, radius


def rescaled_input(v: np.ndarray, multiplier: int, shift: int, radius: int) -> np.ndarray:
    """v · M · 2^e in Q4.27 for |v| < radius (0 elsewhere: those lanes saturate and are overwritten)."""
    inside = np.where(np.abs(v) < radius, v, 0)
    return fixedpoint.multiply_by_quantized_multiplier(inside, np.int32(multiplier), max(shift, 0), max(-shift, 0))


@dataclass(frozen=True)
class Logistic(Weightless):
    kind: ClassVar[str] = "logistic"
    in_place: ClassVar[str] = "elementwise"  # may write over a same-size input that dies here
    name: str
    inputs: tuple[str, ...]
    output: str

    def prepare(self, tensors: dict[str, TensorInfo]) -> LogisticData | sigmoid16.Sigmoid16Data:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.dtype == "int16":
            return sigmoid16.prepare(self.name, "LOGISTIC", x, y)
        if x.shape != y.shape:
            raise ValueError(f"{self.name}: LOGISTIC keeps the shape, got {x.shape} -> {y.shape}")
        if y.quant != OUTPUT_QUANT or y.dtype != "int8":
            raise ValueError(f"{self.name}: LOGISTIC's int8 output must be quantized (1/256, -128), got {y.quant}")
        mult, shift, radius = input_rescale(self.name, "LOGISTIC", x.quant.scale)

        def arithmetic(q: np.ndarray) -> np.ndarray:
            v = q - x.quant.zero_point
            q0 = fixedpoint.logistic(rescaled_input(v, mult, shift, radius), INPUT_INTEGER_BITS)
            out = np.clip(fixedpoint.rounding_divide_by_pot(q0, 31 - 8).astype(np.int64) - 128, -128, 127)
            return np.where(v <= -radius, -128, np.where(v >= radius, 127, out))

        return LogisticData(mult, shift, radius, table.build(arithmetic))

    def evaluate(self, data: LogisticData | sigmoid16.Sigmoid16Data, x: np.ndarray) -> np.ndarray:
        if isinstance(data, sigmoid16.Sigmoid16Data):
            return sigmoid16.sigmoid16(x, data.multiplier, data.shift)
        return table.lookup(data.table, x)
