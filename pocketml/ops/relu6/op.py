"""RELU6 on its own: a clamp to the quantized [0, 6]; input and output share quantization.

    q_y = clamp(q_x, z, six)      z = z_x,  six = clamp(round(6 / s_x) + z_x, −128, 127)

``round`` is C's (half away from zero) of the float32 quotient, as TFLite Micro's
``FloatToQuantizedType``. No arithmetic can overflow: comparisons only. int16 tensors (TFLite's
16x8 models): the same clamp, six clamped to int16.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless


@dataclass(frozen=True)
class ReLU6Data:
    zero: int
    six: int
    dtype: str = "int8"  # int16: TFLite's 16x8 models


@dataclass(frozen=True)
class ReLU6(Weightless):
    kind: ClassVar[str] = "relu6"
    in_place: ClassVar[str] = "elementwise"  # may write over a same-size input that dies here
    name: str
    inputs: tuple[str, ...]
    output: str

    def prepare(self, tensors: dict[str, TensorInfo]) -> ReLU6Data:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.quant != y.quant or x.shape != y.shape:
            raise ValueError(f"{self.name}: RELU6 needs the same shape and quantization on input and output")
        if {x.dtype, y.dtype} not in ({"int8"}, {"int16"}):
            raise ValueError(f"{self.name}: RELU6 of {x.dtype} to {y.dtype}: int8 or int16 (TFLite's 16x8), one type")
        info = np.iinfo(np.int16 if x.dtype == "int16" else np.int8)
        q = float(np.float32(6.0) / np.float32(x.quant.scale))
        six = int(np.sign(q) * np.floor(abs(q) + 0.5)) + x.quant.zero_point
        return ReLU6Data(x.quant.zero_point, int(np.clip(six, info.min, info.max)), x.dtype)

    def evaluate(self, data: ReLU6Data, x: np.ndarray) -> np.ndarray:
        return np.clip(x, data.zero, data.six).astype(x.dtype)
