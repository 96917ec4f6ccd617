"""QUANTIZE between integer types: a uint8 model input to int8 (the most common edge of third-party
models), int8 to a uint8 model output, int8 to int8 with new parameters (a requantize inside a
model), and the int16 edges of TFLite Micro's audio models (an int16 input to int8, a SOFTMAX's
int16 probabilities to an int32 output). TFLite Micro's ``reference_ops::Requantize``:

    M    = s_x / s_y                           (double, from the float32 scales; QuantizeMultiplier)
    q_y  = clamp(z_y + (q_x − z_x) · M, type_min, type_max)      MultiplyByQuantizedMultiplier

(its XOR-0x80 shortcut for uint8 ⇄ int8 with equal scales and zero points 128 apart computes the
same bytes). An 8-bit input to an 8-bit output: |q_x − z_x| <= 255, so ``255 << left_shift`` must
fit int32 (checked), and the 256 possible outputs are computed once, in ``prepare``, indexed by the
input's raw byte. Otherwise (int16 in, or int16/int32 out) every element is computed, with
|q_x − z_x| <= 65535 shifted left within int32 and z_y + (q_x − z_x)·M within int32 (both checked).
The pairs are TFLite Micro's (``quantize_common.cc``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import DTYPES, RANGES, TensorInfo, Weightless

RANGE = {"int8": (-128, 127), "uint8": (0, 255)}
PAIRS = {("uint8", "int8"), ("int8", "uint8"), ("int8", "int8"), ("int16", "int8"), ("int8", "int16"),
         ("int8", "int32"), ("int16", "int16"), ("int16", "int32")}  # (from, to) TFLite Micro runs


@dataclass(frozen=True)
class QuantizeData:
    multiplier: int
    left_shift: int
    right_shift: int
    table: tuple[int, ...] | None  # 8-bit in and out: by the input's raw byte 0..255, the output byte as int8
    output_dtype: str
    input_zero_point: int = 0
    output_zero_point: int = 0


@dataclass(frozen=True)
class Quantize(Weightless):
    kind: ClassVar[str] = "quantize"
    in_place: ClassVar[str] = "elementwise"  # element i is read before it is written (same-size types only)
    name: str
    inputs: tuple[str, ...]
    output: str

    def prepare(self, tensors: dict[str, TensorInfo]) -> QuantizeData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.shape != y.shape:
            raise ValueError(f"{self.name}: QUANTIZE keeps the shape, got {x.shape} -> {y.shape}")
        if (x.dtype, y.dtype) not in PAIRS:
            raise ValueError(f"{self.name}: QUANTIZE from {x.dtype} to {y.dtype} (TFLite Micro does not run it)")
        real = np.float64(np.float32(x.quant.scale)) / np.float64(np.float32(y.quant.scale))
        mult, left, right = fixedpoint.quantize_multiplier(float(real))
        if x.dtype in RANGE and y.dtype in RANGE:
            fixedpoint.check_left_shift_bound(255, np.array([left]))
            raw = np.arange(256, dtype=np.uint8)
            values = raw.view(np.int8).astype(np.int32) if x.dtype == "int8" else raw.astype(np.int32)
            scaled = fixedpoint.multiply_by_quantized_multiplier(values - x.quant.zero_point, np.int32(mult), left,
                                                                 right)
            out = np.clip(scaled.astype(np.int64) + y.quant.zero_point, *RANGE[y.dtype]).astype(DTYPES[y.dtype])
            return QuantizeData(mult, left, right, tuple(int(v) for v in out.view(np.int8)), y.dtype)
        lo, hi = RANGES[x.dtype]
        extremes = np.array([lo - x.quant.zero_point, hi - x.quant.zero_point], np.int64)
        fixedpoint.check_left_shift_bound(int(np.abs(extremes).max()), np.array([left]))
        ends = fixedpoint.multiply_by_quantized_multiplier(extremes, np.int32(mult), left, right).astype(np.int64)
        if np.any(np.abs(ends + y.quant.zero_point) >= 2**31):
            raise ValueError(f"{self.name}: QUANTIZE's rescaled value could overflow int32 (scales {x.quant.scale:g} "
                             f"-> {y.quant.scale:g})")
        return QuantizeData(mult, left, right, None, y.dtype, x.quant.zero_point, y.quant.zero_point)

    def evaluate(self, data: QuantizeData, x: np.ndarray) -> np.ndarray:
        if data.table is not None:
            out = np.asarray(data.table, dtype=np.int8)[x.view(np.uint8)]
            return out.view(DTYPES[data.output_dtype])
        v = x.astype(np.int64) - data.input_zero_point
        scaled = fixedpoint.multiply_by_quantized_multiplier(v, np.int32(data.multiplier), data.left_shift,
                                                             data.right_shift)
        y = np.clip(scaled.astype(np.int64) + data.output_zero_point, *RANGES[data.output_dtype])
        return y.astype(DTYPES[data.output_dtype])
