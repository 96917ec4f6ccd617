"""MINIMUM of two int8 operands with broadcasting: the smaller value, no arithmetic.

TFLite Micro's kernel compares the raw int8 values (``MaximumMinimumBroadcastSlow``); that is the
real min only when both operands and the output share one scale and zero point, which TFLite's
converter arranges and the quantizer does too (``output_quant = "shared"``). ``prepare`` checks it.
An operand may be a constant (``pocketml/ops/broadcast.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo
from pocketml.ops import broadcast
from pocketml.ops.broadcast import BinaryOperands, Constant


@dataclass(frozen=True)
class MinimumData:
    geometry: broadcast.Geometry


@dataclass(frozen=True)
class Minimum(BinaryOperands):
    kind: ClassVar[str] = "minimum"
    in_place: ClassVar[str] = "elementwise"
    name: str
    inputs: tuple[str, ...]
    output: str
    constant: Constant | None = None

    def prepare(self, tensors: dict[str, TensorInfo]) -> MinimumData:
        a, b = broadcast.operand_infos(self, tensors)
        y = tensors[self.output]
        out = broadcast.broadcast_shape(self.name, a.shape, b.shape)
        if out != y.shape:
            raise ValueError(f"{self.name}: MINIMUM of {a.shape} and {b.shape} gives {out}, not {y.shape}")
        if not a.quant == b.quant == y.quant:
            raise ValueError(f"{self.name}: MINIMUM compares raw int8 values: both operands and the output must "
                             f"share one quantization, got {a.quant}, {b.quant} -> {y.quant}")
        return MinimumData(broadcast.geometry(a.shape, b.shape, out))

    def evaluate(self, data: MinimumData, *xs: np.ndarray) -> np.ndarray:
        a, b = broadcast.batch_operands(self, xs, data.geometry)
        return np.minimum(a, b).astype(np.int8)
