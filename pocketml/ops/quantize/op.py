"""QUANTIZE between 8-bit types: a uint8 model input to int8 (the most common edge of third-party
models), int8 to a uint8 model output, and int8 to int8 with new parameters (a requantize inside a
model). TFLite Micro's ``reference_ops::Requantize``:

    M    = s_x / s_y                           (double, from the float32 scales; QuantizeMultiplier)
    q_y  = clamp(z_y + (q_x − z_x) · M, type_min, type_max)      MultiplyByQuantizedMultiplier

(its XOR-0x80 shortcut for uint8 ⇄ int8 with equal scales and zero points 128 apart computes the
same bytes). |q_x − z_x| <= 255, so ``255 << left_shift`` must fit int32 (checked). The 256
possible outputs are computed once, in ``prepare``, indexed by the input's raw byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import DTYPES, TensorInfo, Weightless

RANGE = {"int8": (-128, 127), "uint8": (0, 255)}


@dataclass(frozen=True)
class QuantizeData:
    multiplier: int
    left_shift: int
    right_shift: int
    table: tuple[int, ...]  # by the input's raw byte 0..255: the output's byte, read as int8
    output_dtype: str


@dataclass(frozen=True)
class Quantize(Weightless):
    kind: ClassVar[str] = "quantize"
    in_place: ClassVar[str] = "elementwise"  # one byte in, one byte out, in order
    name: str
    inputs: tuple[str, ...]
    output: str

    def prepare(self, tensors: dict[str, TensorInfo]) -> QuantizeData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.shape != y.shape:
            raise ValueError(f"{self.name}: QUANTIZE keeps the shape, got {x.shape} -> {y.shape}")
        if x.dtype == y.dtype == "uint8":
            raise ValueError(f"{self.name}: QUANTIZE from uint8 to uint8 (TFLite Micro does not run it)")
        real = np.float64(np.float32(x.quant.scale)) / np.float64(np.float32(y.quant.scale))
        mult, left, right = fixedpoint.quantize_multiplier(float(real))
        fixedpoint.check_left_shift_bound(255, np.array([left]))
        raw = np.arange(256, dtype=np.uint8)
        values = raw.view(np.int8).astype(np.int32) if x.dtype == "int8" else raw.astype(np.int32)
        scaled = fixedpoint.multiply_by_quantized_multiplier(values - x.quant.zero_point, np.int32(mult), left, right)
        out = np.clip(scaled.astype(np.int64) + y.quant.zero_point, *RANGE[y.dtype]).astype(DTYPES[y.dtype])
        return QuantizeData(mult, left, right, tuple(int(v) for v in out.view(np.int8)), y.dtype)

    def evaluate(self, data: QuantizeData, x: np.ndarray) -> np.ndarray:
        out = np.asarray(data.table, dtype=np.int8)[x.view(np.uint8)]
        return out.view(DTYPES[data.output_dtype])
