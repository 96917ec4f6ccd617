"""STRIDED_SLICE (and SLICE) of an int8 tensor: every ``stride``-th element from ``begin``, ``size``
elements per per-sample axis (a negative stride walks backwards); bytes moved, no arithmetic.

    y[i_0, ..., i_k] = x[begin_0 + i_0·stride_0, ..., begin_k + i_k·stride_k]

Axes a TFLite ``shrink_axis_mask`` removes are sliced to size 1 and dropped from the output's shape
(the same bytes). The reader resolves TFLite's begin/end/masks into (begin, size, stride) per axis
(``tflite.py``); the C reads the input at ``offset + Σ i_a·strides[a]`` (``pocketml/ops/gather.py``).
Input and output share quantization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless
from pocketml.ops import gather


@dataclass(frozen=True)
class StridedSliceData:
    dims: tuple[int, ...]  # the sliced shape, 4 axes
    strides: tuple[int, ...]  # input elements between neighbours along each axis
    offset: int  # the input element of output element 0


@dataclass(frozen=True)
class StridedSlice(Weightless):
    kind: ClassVar[str] = "strided_slice"
    name: str
    inputs: tuple[str, ...]
    output: str
    begin: tuple[int, ...]  # per-sample axis: first index (0 <= begin < size of the axis)
    size: tuple[int, ...]  # elements taken along each axis (>= 1)
    stride: tuple[int, ...]  # step along each axis (!= 0)

    def prepare(self, tensors: dict[str, TensorInfo]) -> StridedSliceData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        rank = len(x.shape)
        if rank > 3:
            raise ValueError(f"{self.name}: STRIDED_SLICE of {rank} axes per sample; TFLite Micro slices at most 4 "
                             "axes (3 and the batch)")
        if not len(self.begin) == len(self.size) == len(self.stride) == rank:
            raise ValueError(f"{self.name}: STRIDED_SLICE needs a begin, size and stride for each of {rank} axes")
        for a, (b, n, s, d) in enumerate(zip(self.begin, self.size, self.stride, x.shape, strict=True)):
            if s == 0 or n < 1 or not 0 <= b < d or not 0 <= b + (n - 1) * s < d:
                raise ValueError(f"{self.name}: axis {a}: {n} elements from {b} by {s} leave the axis of size {d}")
        if y.nbytes != int(np.prod(self.size)) or x.quant != y.quant:
            raise ValueError(f"{self.name}: STRIDED_SLICE of sizes {self.size} cannot give {y.shape} "
                             "(or the quantization changed)")
        in_strides = gather.row_major_strides(x.shape)
        return StridedSliceData(gather.padded(self.size), gather.padded(tuple(
            s * t for s, t in zip(self.stride, in_strides, strict=True)), 0),
            int(sum(b * t for b, t in zip(self.begin, in_strides, strict=True))))

    def evaluate(self, data: StridedSliceData, x: np.ndarray) -> np.ndarray:
        for a, (b, n, s) in enumerate(zip(self.begin, self.size, self.stride, strict=True)):
            x = np.take(x, b + s * np.arange(n), axis=a + 1)
        return x
