"""MAX_POOL_2D: the largest int8 (or int16) value in each window; input and output share quantization.

    q_y[n,oy,ox,c] = clamp(max over the window of q_x, act_min, act_max)

int16 (TFLite's 16x8 models) is the same arithmetic at 16 bits, as in TFLite Micro.

Window taps in the padding are skipped (never compared), as in TFLite Micro. No arithmetic
can overflow: only comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless
from pocketml.ops.conv2d.op import conv_output_hw  # the same window arithmetic, dilation 1
from pocketml.ops.requantize import activation_range


@dataclass(frozen=True)
class MaxPool2DData:
    act_min: int
    act_max: int


@dataclass(frozen=True)
class MaxPool2D(Weightless):
    kind: ClassVar[str] = "max_pool2d"
    name: str
    inputs: tuple[str, ...]
    output: str
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]  # (top, left)
    activation: str = "none"
    padding_end: tuple[int, int] | None = None  # (bottom, right); None: = padding (TFLite SAME: +1 if odd)

    def out_hw(self, in_shape: tuple[int, ...]) -> tuple[int, int]:
        return conv_output_hw(in_shape, self.kernel, self.stride, self.padding, (1, 1), self.padding_end)

    def prepare(self, tensors: dict[str, TensorInfo]) -> MaxPool2DData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.quant != y.quant or x.dtype != y.dtype or x.dtype not in ("int8", "int16"):
            raise ValueError(f"{self.name}: MAX_POOL_2D needs the same quantization and type (int8 or int16) on "
                             f"input and output, got {x.dtype} -> {y.dtype}")
        oh, ow = self.out_hw(x.shape)
        if y.shape != (oh, ow, x.shape[2]):
            raise ValueError(f"{self.name}: output shape {y.shape} should be {(oh, ow, x.shape[2])}")
        return MaxPool2DData(*activation_range(self.activation, y.quant, y.dtype))

    def evaluate(self, data: MaxPool2DData, x: np.ndarray) -> np.ndarray:
        n, h, w, c = x.shape
        kh, kw = self.kernel
        (sh, sw), (pt, pl) = self.stride, self.padding
        oh, ow = self.out_hw((h, w))
        below = -(2**31)  # below any int8 or int16: padding taps never win
        padded = np.full((n, h + pt + oh * sh + kh, w + pl + ow * sw + kw, c), below, dtype=np.int32)
        padded[:, pt:pt + h, pl:pl + w] = x
        out = np.full((n, oh, ow, c), below, dtype=np.int32)
        for ky in range(kh):
            for kx in range(kw):
                out = np.maximum(out, padded[:, ky:ky + (oh - 1) * sh + 1:sh, kx:kx + (ow - 1) * sw + 1:sw])
        return np.clip(out, data.act_min, data.act_max).astype(x.dtype)
