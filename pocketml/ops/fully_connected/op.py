"""FULLY_CONNECTED: int8 matrix-vector product, per-channel int8 weights, int32 bias.

    int8:   acc[c] = bias[c] + Σ_k (q_x[k] + input_offset) · q_w[c,k]        input_offset = -z_x
            q_y[c] = clamp(z_y + acc[c] · M[c], act_min, act_max)       (see requantize.py)

Overflow bound: depth·255·127 + |bias| < 2^31 (checked in ``prepare``).

16x8 (TFLite's int16 activations, ``requantize.activation_types``): int16 input and output with
zero points 0, an int64 bias summed in int64 (|acc| < 2^47) or an int32 bias summed in int32
(depth·32768·127 + |bias| < 2^31), both checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo
from pocketml.ops.requantize import Requantize, activation_types, max_abs_accumulator


@dataclass(frozen=True, eq=False)
class FullyConnectedData:
    input_offset: int
    requant: Requantize


@dataclass(frozen=True, eq=False)
class FullyConnected:
    kind: ClassVar[str] = "fully_connected"
    fuses_activation: ClassVar[bool] = True
    packable: ClassVar[bool] = True  # weights may be stored packed below 8 bits, sparse or Huffman-coded
    name: str
    inputs: tuple[str, ...]
    output: str
    weight: np.ndarray  # int8 [Cout, depth]
    bias: np.ndarray  # int32 [Cout] (16x8: int64, or int32)
    weight_scale: np.ndarray  # float32 [Cout]
    activation: str

    def prepare(self, tensors: dict[str, TensorInfo]) -> FullyConnectedData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        cout, depth = self.weight.shape
        if x.shape != (depth,) or y.shape != (cout,):
            raise ValueError(f"{self.name}: shapes {x.shape} -> {y.shape} do not match weights {self.weight.shape}")
        dtype, wide = activation_types(self.name, x, y, self.bias)
        requant = Requantize.prepare(
            x.quant.scale, self.weight_scale, y.quant, self.activation,
            max_abs_accumulator(depth, self.bias, dtype), dtype, wide,
        )
        return FullyConnectedData(input_offset=-x.quant.zero_point, requant=requant)

    def evaluate(self, data: FullyConnectedData, x: np.ndarray) -> np.ndarray:
        # float64 matmul (BLAS) is exact here: every partial sum is an integer below 2^47 < 2^53
        xs = x.astype(np.float64) + data.input_offset
        acc = xs @ self.weight.astype(np.float64).T + self.bias.astype(np.float64)
        return data.requant.apply(acc.astype(np.int64 if data.requant.wide else np.int32))

    def macs(self, tensors: dict[str, TensorInfo]) -> int:
        return int(self.weight.size)

    def param_count(self) -> int:
        return int(self.weight.size + self.bias.size)

    def stored_bytes(self) -> int:
        return int(self.weight.size + self.bias.nbytes)
