"""AVERAGE_POOL_2D: the rounded mean of each window; input and output share quantization.

    sum   = Σ over the window's taps inside the input of q_x         (padding taps are not counted)
    q_y   = clamp(round(sum / count), act_min, act_max)
    round: (sum + count/2) / count if sum > 0 else (sum - count/2) / count, C division (toward 0)

This is TFLite Micro's ``reference_integer_ops::AveragePool`` rounding (half away from zero).
Because padding taps are excluded from ``count``, PyTorch's ``count_include_pad=True`` with
padding > 0 is refused at capture. Overflow: |sum| <= kh·kw·128, far below 2^31.
int16 (TFLite's 16x8 models) is the same arithmetic (|sum| <= kh·kw·32768 < 2^31 below 65536 taps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless
from pocketml.ops.conv2d.op import conv_output_hw  # the same window arithmetic, dilation 1
from pocketml.ops.requantize import activation_range


@dataclass(frozen=True)
class AvgPool2DData:
    act_min: int
    act_max: int


@dataclass(frozen=True)
class AvgPool2D(Weightless):
    kind: ClassVar[str] = "avg_pool2d"
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

    def prepare(self, tensors: dict[str, TensorInfo]) -> AvgPool2DData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if x.quant != y.quant or x.dtype != y.dtype or x.dtype not in ("int8", "int16"):
            raise ValueError(f"{self.name}: AVERAGE_POOL_2D needs the same quantization and type (int8 or int16) "
                             f"on input and output, got {x.dtype} -> {y.dtype}")
        if self.kernel[0] * self.kernel[1] >= 65536:
            raise ValueError(f"{self.name}: a {self.kernel} window could overflow the int32 sum")
        end = self.padding if self.padding_end is None else self.padding_end
        if max(self.padding[0], end[0]) >= self.kernel[0] or max(self.padding[1], end[1]) >= self.kernel[1]:
            raise ValueError(f"{self.name}: padding {self.padding}/{end} must be smaller than the kernel {self.kernel}")
        if y.shape != (*self.out_hw(x.shape), x.shape[2]):
            raise ValueError(f"{self.name}: output shape {y.shape} should be {(*self.out_hw(x.shape), x.shape[2])}")
        return AvgPool2DData(*activation_range(self.activation, y.quant, y.dtype))

    def evaluate(self, data: AvgPool2DData, x: np.ndarray) -> np.ndarray:
        n, h, w, c = x.shape
        (kh, kw), (sh, sw), (pt, pl) = self.kernel, self.stride, self.padding
        oh, ow = self.out_hw((h, w))
        padded = np.zeros((n, h + pt + oh * sh + kh, w + pl + ow * sw + kw, c), np.int32)
        padded[:, pt:pt + h, pl:pl + w] = x
        inside = np.zeros((h + pt + oh * sh + kh, w + pl + ow * sw + kw), np.int32)
        inside[pt:pt + h, pl:pl + w] = 1
        total = np.zeros((n, oh, ow, c), np.int32)
        count = np.zeros((oh, ow), np.int32)
        for ky in range(kh):
            for kx in range(kw):
                total += padded[:, ky:ky + (oh - 1) * sh + 1:sh, kx:kx + (ow - 1) * sw + 1:sw]
                count += inside[ky:ky + (oh - 1) * sh + 1:sh, kx:kx + (ow - 1) * sw + 1:sw]
        count = count[None, :, :, None]
        mean = np.sign(total) * ((np.abs(total) + count // 2) // count)  # half away from zero
        return np.clip(mean, data.act_min, data.act_max).astype(x.dtype)
