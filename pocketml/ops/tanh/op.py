"""TANH, int8 in, int8 out at TFLite's fixed (1/128, 0): TFLite Micro's int8 kernel.

    (M, e, r) as LOGISTIC's (the input rescaled to Q4.27; ``logistic/op.py: input_rescale``)
    v    = q_x − z_x
    q_y  = −128 if v <= −r;  127 if v >= r;
           else clamp(RoundingDivideByPOT(tanh_Q4(v · M · 2^e), 24), −128, 127)

``tanh_Q4`` is gemmlowp's fixed-point tanh (``graph/fixedpoint.py``), Q0.31 out; there is no
output offset (the zero point is 0). The 256 possible outputs are computed once, in ``prepare``,
and looked up (``pocketml/ops/table.py``).

int16 in and out (TFLite's 16x8 models): TFLite Micro's int16 kernel, input zero point 0, output
(1/32768, 0), an interpolation in its 256-entry sigmoid table with the input scaling its Prepare picks
from the input scale (``pocketml/ops/sigmoid16.py``, shared with the LSTM's gates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import QuantParams, TensorInfo, Weightless
from pocketml.ops import sigmoid16, table
from pocketml.ops.logistic.op import INPUT_INTEGER_BITS, input_rescale, rescaled_input

OUTPUT_QUANT = QuantParams(1.0 / 128.0, 0)


@dataclass(frozen=True)
class TanhData:
    input_multiplier: int
    input_shift: int
    input_range_radius: int
    table: tuple[int, ...]


@dataclass(frozen=True)
class Tanh(Weightless):
    kind: ClassVar[str] = "tanh"
    in_place: ClassVar[str] = "elementwise"
    name: str
    inputs: tuple[str, ...]
    output: str

    def prepare(self, tensors: dict[str, TensorInfo]) -> TanhData | sigmoid16.Sigmoid16Data:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.dtype == "int16":
            return sigmoid16.prepare(self.name, "TANH", x, y)
        if x.shape != y.shape:
            raise ValueError(f"{self.name}: TANH keeps the shape, got {x.shape} -> {y.shape}")
        if y.quant != OUTPUT_QUANT or y.dtype != "int8":
            raise ValueError(f"{self.name}: TANH's int8 output must be quantized (1/128, 0), got {y.quant}")
        mult, shift, radius = input_rescale(self.name, "TANH", x.quant.scale)

        def arithmetic(q: np.ndarray) -> np.ndarray:
            v = q - x.quant.zero_point
            q0 = fixedpoint.tanh(rescaled_input(v, mult, shift, radius), INPUT_INTEGER_BITS)
            out = np.clip(fixedpoint.rounding_divide_by_pot(q0, 31 - 7), -128, 127)
            return np.where(v <= -radius, -128, np.where(v >= radius, 127, out))

        return TanhData(mult, shift, radius, table.build(arithmetic))

    def evaluate(self, data: TanhData | sigmoid16.Sigmoid16Data, x: np.ndarray) -> np.ndarray:
        if isinstance(data, sigmoid16.Sigmoid16Data):
            return sigmoid16.tanh16(x, data.multiplier, data.shift)
        return table.lookup(data.table, x)
