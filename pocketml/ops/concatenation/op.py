"""CONCATENATION along the channel (last) axis: bytes copied, no arithmetic.

TFLite Micro's int8 kernel refuses to rescale: every input must carry the output's scale and zero
point. pocketml does what the TFLite converter does: the quantizer forces one shared set of
parameters on all inputs and the output (covering the union of their calibrated ranges), so the
producers of the inputs write directly in the shared scale. ``prepare`` checks that it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless


@dataclass(frozen=True)
class ConcatenationData:
    outer: int  # elements before the channel axis (H·W, or 1 for flat tensors)
    depths: tuple[int, ...]  # channels of each input


@dataclass(frozen=True)
class Concatenation(Weightless):
    kind: ClassVar[str] = "concatenation"
    name: str
    inputs: tuple[str, ...]
    output: str

    def prepare(self, tensors: dict[str, TensorInfo]) -> ConcatenationData:
        xs, y = [tensors[n] for n in self.inputs], tensors[self.output]
        if len(xs) < 2:
            raise ValueError(f"{self.name}: CONCATENATION needs at least two inputs")
        for x in xs:
            if x.quant != y.quant:
                raise ValueError(f"{self.name}: CONCATENATION needs every input quantized like the output "
                                 f"({x.name} has {x.quant}, output {y.quant})")
            if x.shape[:-1] != y.shape[:-1]:
                raise ValueError(f"{self.name}: inputs must agree on every axis but the channels: "
                                 f"{x.shape} vs {y.shape}")
        depths = tuple(x.shape[-1] for x in xs)
        if sum(depths) != y.shape[-1]:
            raise ValueError(f"{self.name}: channels {depths} do not add up to the output's {y.shape[-1]}")
        return ConcatenationData(int(np.prod(y.shape[:-1])), depths)

    def evaluate(self, data: ConcatenationData, *xs: np.ndarray) -> np.ndarray:
        return np.concatenate(xs, axis=-1)
