"""DEPTHWISE_CONV_2D: each input channel convolved with its own filters (depth multiplier M).

    output channel oc = ic·M + m reads only input channel ic (TFLite's order)
    int8:   acc[oc] = bias[oc] + Σ_{ky,kx} (q_x[.., ic] + input_offset) · q_w[0, ky, kx, oc]
            q_y     = clamp(z_y + acc · M[oc], act_min, act_max)        (see requantize.py)

Taps in the padding are skipped (as if the input held z_x there), exactly like TFLite Micro's
``reference_integer_ops::DepthwiseConvPerChannel``. Weights are [1, KH, KW, Cout] as TFLite stores
them, per-output-channel symmetric int8. Overflow bound: kh·kw·255·127 + |bias| < 2^31 (checked).

16x8 (TFLite's int16 activations, ``requantize.activation_types``): int16 input and output with
zero points 0, an int64 bias (TFLite Micro's depthwise takes no int32 one), summed in int64.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo
from pocketml.ops.conv2d.op import conv_output_hw, raster_overlap_lag
from pocketml.ops.requantize import Requantize, activation_types, max_abs_accumulator
from pocketml.ops.window import Window, absorb_pad


@dataclass(frozen=True, eq=False)
class DepthwiseConv2DData:
    input_offset: int
    requant: Requantize


@dataclass(frozen=True, eq=False)
class DepthwiseConv2D:
    kind: ClassVar[str] = "depthwise_conv2d"
    in_place: ClassVar[str] = "raster"  # the planner may overlap output and dying input (overlap_lag)
    fuses_activation: ClassVar[bool] = True
    name: str
    inputs: tuple[str, ...]
    output: str
    weight: np.ndarray  # int8 [1, KH, KW, Cout]
    bias: np.ndarray  # int32 [Cout] (16x8: int64)
    weight_scale: np.ndarray  # float32 [Cout]
    stride: tuple[int, int]
    padding: tuple[int, int]  # (top, left)
    dilation: tuple[int, int]
    depth_multiplier: int
    activation: str
    padding_end: tuple[int, int] | None = None  # (bottom, right); None: = padding (see conv2d.py)

    def prepare(self, tensors: dict[str, TensorInfo]) -> DepthwiseConv2DData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        _, kh, kw, cout = self.weight.shape
        if self.weight.shape[0] != 1 or self.depth_multiplier < 1:
            raise ValueError(f"{self.name}: depthwise weights must be [1, KH, KW, Cout] with a multiplier >= 1")
        if len(x.shape) != 3 or x.shape[2] * self.depth_multiplier != cout:
            raise ValueError(f"{self.name}: input shape {x.shape} times depth multiplier {self.depth_multiplier} "
                             f"does not match weights {self.weight.shape}")
        if y.shape != (*conv_output_hw(x.shape, (kh, kw), self.stride, self.padding, self.dilation,
                                       self.padding_end), cout):
            raise ValueError(f"{self.name}: output shape {y.shape} is inconsistent with the depthwise conv")
        dtype, wide = activation_types(self.name, x, y, self.bias, int32_bias=False)
        requant = Requantize.prepare(x.quant.scale, self.weight_scale, y.quant, self.activation,
                                     max_abs_accumulator(kh * kw, self.bias, dtype), dtype, wide)
        return DepthwiseConv2DData(input_offset=-x.quant.zero_point, requant=requant)

    def evaluate(self, data: DepthwiseConv2DData, x: np.ndarray) -> np.ndarray:
        n, h, w, _ = x.shape
        _, kh, kw, cout = self.weight.shape
        (sh, sw), (pt, pl), (dh, dw) = self.stride, self.padding, self.dilation
        oh, ow = conv_output_hw((h, w), (kh, kw), self.stride, self.padding, self.dilation, self.padding_end)
        xs = np.repeat(x.astype(np.int64) + data.input_offset, self.depth_multiplier, axis=3)  # channel ic·M + m
        padded = np.zeros((n, max(h + pt, (oh - 1) * sh + dh * (kh - 1) + 1),
                           max(w + pl, (ow - 1) * sw + dw * (kw - 1) + 1), cout), np.int64)
        padded[:, pt:pt + h, pl:pl + w] = xs  # padding holds z_x + input_offset = 0: contributes nothing
        acc = np.zeros((n, oh, ow, cout), np.int64) + self.bias.astype(np.int64)
        for ky in range(kh):
            for kx in range(kw):
                tap = padded[:, ky * dh:ky * dh + (oh - 1) * sh + 1:sh, kx * dw:kx * dw + (ow - 1) * sw + 1:sw]
                acc += tap * self.weight[0, ky, kx].astype(np.int64)
        return data.requant.apply(acc if data.requant.wide else acc.astype(np.int32))

    def with_pad(self, pad, tensors: dict[str, TensorInfo]) -> DepthwiseConv2D | None:
        """This op reading ``pad``'s input, the PAD folded into its padding (``ops/window.py: absorb_pad``)."""
        return absorb_pad(self, pad, tensors)

    def window(self) -> Window:
        """How an output pixel reads the input (patch-based execution, ``pocketml/ops/window.py``)."""
        return Window(tuple(self.weight.shape[1:3]), self.stride, self.dilation, self.padding)

    def on_patch(self, name: str, inputs: tuple[str, ...], output: str, shape: tuple[int, ...]) -> DepthwiseConv2D:
        """This depthwise conv on a patch whose border holds the zero point: no padding (VALID)."""
        return replace(self, name=name, inputs=inputs, output=output, padding=(0, 0), padding_end=(0, 0))

    def overlap_lag(self, x: TensorInfo, y: TensorInfo) -> int | None:
        """Bytes the output may start below its dying input (conv2d's ``raster_overlap_lag``)."""
        return raster_overlap_lag(self, x, y)

    def macs(self, tensors: dict[str, TensorInfo]) -> int:
        oh, ow, cout = tensors[self.output].shape
        return oh * ow * int(self.weight.size)

    def param_count(self) -> int:
        return int(self.weight.size + self.bias.size)

    def stored_bytes(self) -> int:
        return int(self.weight.size + self.bias.nbytes)
