"""CONCATENATION along any axis (the channels by default): bytes copied, no arithmetic.

Along axis a, the output is read as [outer, Σ depth_k]: ``outer`` = the product of the axes before
a, and input k contributes ``depth_k`` = its size on a times the product of the axes after a, for
each outer position in turn (TFLite Micro's loop; on the channel axis depth_k is its channels).

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
    outer: int  # elements before the axis (H·W for channels, or 1 for flat tensors)
    depths: tuple[int, ...]  # bytes of each input per outer position (its channels, on the channel axis)


@dataclass(frozen=True)
class Concatenation(Weightless):
    kind: ClassVar[str] = "concatenation"
    name: str
    inputs: tuple[str, ...]
    output: str
    axis: int = -1  # per-sample axis (the last: channels)

    def prepare(self, tensors: dict[str, TensorInfo]) -> ConcatenationData:
        xs, y = [tensors[n] for n in self.inputs], tensors[self.output]
        if len(xs) < 2:
            raise ValueError(f"{self.name}: CONCATENATION needs at least two inputs")
        rank = len(y.shape)
        if not -rank <= self.axis < rank:
            raise ValueError(f"{self.name}: CONCATENATION axis {self.axis} of a {rank}-axis tensor")
        a = self.axis % rank
        if {x.dtype for x in xs} | {y.dtype} not in ({"int8"}, {"int16"}):
            raise ValueError(f"{self.name}: CONCATENATION of {[x.dtype for x in xs]} to {y.dtype}: int8 or int16 "
                             "(TFLite's 16x8 models), one type for all")
        for x in xs:
            if x.quant != y.quant:
                raise ValueError(f"{self.name}: CONCATENATION needs every input quantized like the output "
                                 f"({x.name} has {x.quant}, output {y.quant})")
            if len(x.shape) != rank or x.shape[:a] + x.shape[a + 1:] != y.shape[:a] + y.shape[a + 1:]:
                raise ValueError(f"{self.name}: inputs must agree on every axis but axis {a}: "
                                 f"{x.shape} vs {y.shape}")
        sizes = tuple(x.shape[a] for x in xs)
        if sum(sizes) != y.shape[a]:
            raise ValueError(f"{self.name}: sizes {sizes} on axis {a} do not add up to the output's {y.shape[a]}")
        inner = int(np.prod(y.shape[a + 1:], dtype=np.int64))
        return ConcatenationData(int(np.prod(y.shape[:a], dtype=np.int64)), tuple(s * inner for s in sizes))

    def evaluate(self, data: ConcatenationData, *xs: np.ndarray) -> np.ndarray:
        return np.concatenate(xs, axis=self.axis % (xs[0].ndim - 1) + 1)
