"""CONV_2D: int8 convolution, per-channel int8 weights, int32 bias, fused activation.

    real:   y[n,oy,ox,c] = b[c] + Σ_{ky,kx,i} x[n, oy*sy - pt + ky*dy, ox*sx - pl + kx*dx, i] · w[c,ky,kx,i]
    int8:   acc[c] = bias[c] + Σ (q_x + input_offset) · q_w[c,...]        input_offset = -z_x
            q_y   = clamp(z_y + acc · M[c], act_min, act_max)          (see requantize.py)

Taps that fall in the padding contribute nothing (as if the input held z_x there). Padding is
(top, left) plus ``padding_end`` (bottom, right); None means symmetric, as PyTorch pads. TFLite's
SAME padding pads one more at the bottom/right when the total is odd (read from .tflite files).
Overflow bound: |q_x + input_offset| <= 255, |q_w| <= 127, so kh·kw·cin·32385 + |bias| must stay
below 2^31 (checked in ``prepare``). Weights are OHWI, as TFLite stores them.

16x8 (TFLite's int16 activations, ``requantize.activation_types``): int16 input and output with
zero points 0, the same int8 weights, an int64 bias summed in int64 (|acc| < 2^47, checked) or an
int32 bias summed in int32 (kh·kw·cin·32768·127 + |bias| < 2^31, checked), and the output clamped
to int16. Padding taps add nothing (the zero point is 0).

A max pool in the epilogue (``pool``, :class:`PoolEpilogue`; ``graph/fuse.py`` fuses a MAX_POOL_2D
that alone reads the conv's output and keeps its quantization): the op's output is the pooled map,

    q_y[n,py,px,c] = max over the pool window (taps in the pool's padding skipped) of the conv's q_y

the same bits as the conv then TFLite's MAX_POOL_2D (which only compares, on the conv's scale and
zero point), without the conv's whole output map ever existing: the kernels compute one window's
conv outputs, requantize each, and keep the largest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo
from pocketml.ops.requantize import Requantize, activation_types, max_abs_accumulator
from pocketml.ops.window import Window, absorb_pad


@dataclass(frozen=True)
class PoolEpilogue:
    """A MAX_POOL_2D fused into the conv's epilogue: its window over the conv's output map."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]  # (top, left)
    padding_end: tuple[int, int] | None = None  # (bottom, right); None: = padding

    def out_hw(self, map_hw: tuple[int, ...]) -> tuple[int, int]:
        return conv_output_hw(map_hw, self.kernel, self.stride, self.padding, (1, 1), self.padding_end)


@dataclass(frozen=True, eq=False)
class Conv2DData:
    input_offset: int
    requant: Requantize


@dataclass(frozen=True, eq=False)
class Conv2D:
    kind: ClassVar[str] = "conv2d"
    in_place: ClassVar[str] = "raster"  # the planner may overlap output and dying input (overlap_lag)
    fuses_activation: ClassVar[bool] = True
    packable: ClassVar[bool] = True  # weights may be stored packed below 8 bits, sparse or Huffman-coded
    name: str
    inputs: tuple[str, ...]
    output: str
    weight: np.ndarray  # int8 [Cout, KH, KW, Cin]
    bias: np.ndarray  # int32 [Cout] (16x8: int64, or int32)
    weight_scale: np.ndarray  # float32 [Cout]
    stride: tuple[int, int]
    padding: tuple[int, int]  # (top, left); bottom/right follow from the output shape
    dilation: tuple[int, int]
    activation: str
    padding_end: tuple[int, int] | None = None  # (bottom, right); None: = padding
    pool: PoolEpilogue | None = None  # a max pool fused into the epilogue: the output is the pooled map

    def prepare(self, tensors: dict[str, TensorInfo]) -> Conv2DData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        cout, kh, kw, cin = self.weight.shape
        if len(x.shape) != 3 or x.shape[2] != cin:
            raise ValueError(f"{self.name}: input shape {x.shape} does not match weights {self.weight.shape}")
        if y.shape != (*self.out_hw(x.shape), cout):
            raise ValueError(f"{self.name}: output shape {y.shape} is inconsistent with the conv")
        dtype, wide = activation_types(self.name, x, y, self.bias)
        requant = Requantize.prepare(
            x.quant.scale, self.weight_scale, y.quant, self.activation,
            max_abs_accumulator(kh * kw * cin, self.bias, dtype), dtype, wide,
        )
        return Conv2DData(input_offset=-x.quant.zero_point, requant=requant)

    def evaluate(self, data: Conv2DData, x: np.ndarray) -> np.ndarray:
        cols = im2col(x.astype(np.int32) + data.input_offset, self.weight.shape[1:3],
                      self.stride, self.padding, self.dilation, self.map_hw(x.shape[1:]))
        # float64 matmul (BLAS) is exact here: every partial sum is an integer below 2^47 < 2^53
        w = self.weight.reshape(self.weight.shape[0], -1).astype(np.float64)
        acc = cols.astype(np.float64) @ w.T + self.bias.astype(np.float64)
        y = data.requant.apply(acc.astype(np.int64 if data.requant.wide else np.int32))
        return y if self.pool is None else max_pool(y, self.pool)

    def map_hw(self, in_shape: tuple[int, ...]) -> tuple[int, int]:
        """Height/width of the conv's own output map (before a fused pool)."""
        return conv_output_hw(in_shape, self.weight.shape[1:3], self.stride, self.padding, self.dilation,
                              self.padding_end)

    def out_hw(self, in_shape: tuple[int, ...]) -> tuple[int, int]:
        hw = self.map_hw(in_shape)
        return hw if self.pool is None else self.pool.out_hw(hw)

    def with_pool(self, pool, tensors: dict[str, TensorInfo]) -> Conv2D | None:
        """This conv with ``pool`` (a MAX_POOL_2D reading its output) in its epilogue, writing the pool's
        output; None when the result would not be the same bits: the pool changes the quantization
        (TFLite's MAX_POOL_2D keeps its input's scale and zero point, a file may not), has a fused
        activation or a padding that could leave a window empty, or this conv already has a pool."""
        if getattr(pool, "kind", "") != "max_pool2d" or self.pool is not None or pool.activation != "none":
            return None
        if tensors[self.inputs[0]].dtype != "int8":  # 16x8: the int16 kernels have no pool epilogue
            return None
        if tensors[self.output].quant != tensors[pool.output].quant:
            return None
        end = pool.padding if pool.padding_end is None else pool.padding_end
        if any(pad >= k for pad, k in zip((*pool.padding, *end), 2 * tuple(pool.kernel), strict=True)):
            return None  # a window could lie wholly in the padding (no TFLite padding does that)
        epilogue = PoolEpilogue(tuple(pool.kernel), tuple(pool.stride), tuple(pool.padding),
                                None if pool.padding_end is None else tuple(pool.padding_end))
        return replace(self, output=pool.output, pool=epilogue)

    def overlap_lag(self, x: TensorInfo, y: TensorInfo) -> int | None:
        """Bytes the output may start below its dying input (see :func:`raster_overlap_lag`)."""
        return raster_overlap_lag(self, x, y)

    def with_pad(self, pad, tensors: dict[str, TensorInfo]) -> Conv2D | None:
        """This op reading ``pad``'s input, the PAD folded into its padding (``ops/window.py: absorb_pad``)."""
        return absorb_pad(self, pad, tensors)

    def window(self) -> Window | None:
        """How an output pixel reads the input (patch-based execution, ``pocketml/ops/window.py``);
        None with a fused pool (it ends a patch stage)."""
        if self.pool is not None:
            return None
        return Window(tuple(self.weight.shape[1:3]), self.stride, self.dilation, self.padding)

    def on_patch(self, name: str, inputs: tuple[str, ...], output: str, shape: tuple[int, ...]) -> Conv2D:
        """This conv on a patch whose border holds the zero point: no padding (VALID)."""
        return replace(self, name=name, inputs=inputs, output=output, padding=(0, 0), padding_end=(0, 0))

    def macs(self, tensors: dict[str, TensorInfo]) -> int:
        oh, ow, cout = tensors[self.output].shape
        if self.pool is not None:  # each window's conv pixels (overlapping windows compute some twice)
            mh, mw = self.map_hw(tensors[self.inputs[0]].shape)
            (kh, kw), (sh, sw), (pt, pl) = self.pool.kernel, self.pool.stride, self.pool.padding
            return _pool_taps(oh, kh, sh, pt, mh) * _pool_taps(ow, kw, sw, pl, mw) * int(self.weight.size)
        return oh * ow * int(self.weight.size)

    def param_count(self) -> int:
        return int(self.weight.size + self.bias.size)

    def stored_bytes(self) -> int:
        return int(self.weight.size * 1 + self.bias.nbytes)


def conv_output_hw(in_shape, kernel, stride, padding, dilation, padding_end=None) -> tuple[int, int]:
    """Output height/width for padding (top, left) and ``padding_end`` (bottom, right; None: symmetric)."""
    h, w = in_shape[0], in_shape[1]
    end = padding if padding_end is None else padding_end
    oh = (h + padding[0] + end[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    ow = (w + padding[1] + end[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    return oh, ow


def _pool_taps(out: int, k: int, stride: int, pad: int, size: int) -> int:
    """Conv map positions the fused kernels compute along one axis: every window's taps inside the map."""
    starts = np.arange(out) * stride - pad
    return int((np.minimum(starts + k, size) - np.maximum(starts, 0)).sum())


def max_pool(y: np.ndarray, pool: PoolEpilogue) -> np.ndarray:
    """MAX_POOL_2D of an int8 NHWC batch (taps in the padding skipped): the fused epilogue's reference."""
    n, h, w, c = y.shape
    (kh, kw), (sh, sw), (pt, pl) = pool.kernel, pool.stride, pool.padding
    oh, ow = pool.out_hw((h, w))
    padded = np.full((n, pt + oh * sh + kh, pl + ow * sw + kw, c), -129, dtype=np.int16)
    padded[:, pt:pt + h, pl:pl + w] = y
    out = np.full((n, oh, ow, c), -129, dtype=np.int16)
    for ky in range(kh):
        for kx in range(kw):
            out = np.maximum(out, padded[:, ky:ky + (oh - 1) * sh + 1:sh, kx:kx + (ow - 1) * sw + 1:sw])
    return np.clip(out, -128, 127).astype(np.int8)


def im2col(x, kernel, stride, padding, dilation, out_hw) -> np.ndarray:
    """Patches of an NHWC batch, zero-padded: [N, OH, OW, KH*KW*C] (the order of OHWI weights)."""
    n, h, w, c = x.shape
    kh, kw = kernel
    oh, ow = out_hw
    need_h = (oh - 1) * stride[0] + dilation[0] * (kh - 1) + 1
    need_w = (ow - 1) * stride[1] + dilation[1] * (kw - 1) + 1
    padded = np.zeros((n, max(need_h, h + padding[0]), max(need_w, w + padding[1]), c), x.dtype)
    padded[:, padding[0]:padding[0] + h, padding[1]:padding[1] + w] = x
    cols = np.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dilation[0], kx * dilation[1]
            cols[:, :, :, ky, kx] = padded[:, y0:y0 + (oh - 1) * stride[0] + 1:stride[0],
                                           x0:x0 + (ow - 1) * stride[1] + 1:stride[1]]
    return cols.reshape(n, oh, ow, kh * kw * c)


def raster_overlap_lag(op, x: TensorInfo, y: TensorInfo) -> int | None:
    """Bytes the output of a window op may start below its dying input (any stride, dilation, padding).

    The kernels (conv2d.c, depthwise_conv2d.c and their DSP twins) write outputs in raster order
    (pixel p, all its channels) and write pixel p only after reading every input pixel it needs
    (the DSP conv reads a pixel pair first, the DSP depthwise whole input rows: both read earlier,
    never later). Output pixel q = (oy, ox) reads no input pixel below
    first(q) = max(0, oy·sy − pt)·W + max(0, ox·sx − pl), so once pixel p is written the input still
    to be read starts at need(p) = min over q >= p of first(q). Writing output bytes
    [p·C_out, (p+1)·C_out) at ``in_base − lag`` must stay below input byte need(p)·C_in for every p:
    lag = max over p of (p+1)·C_out − need(p)·C_in (may be negative: the output fits above the start).
    """
    if len(x.shape) != 3 or len(y.shape) != 3 or x.dtype != "int8":  # 16x8: no overlap (kept simple)
        return None
    w, cin = x.shape[1], x.shape[2]
    oh, ow, cout = y.shape
    rows, cols = np.arange(oh, dtype=np.int64), np.arange(ow, dtype=np.int64)
    pool = getattr(op, "pool", None)
    if pool is not None:  # a fused pool: output pixel q first reads its window's top-left conv pixel
        rows = np.maximum(0, rows * pool.stride[0] - pool.padding[0])
        cols = np.maximum(0, cols * pool.stride[1] - pool.padding[1])
    rows = np.maximum(0, rows * op.stride[0] - op.padding[0])
    cols = np.maximum(0, cols * op.stride[1] - op.padding[1])
    first = (rows[:, None] * w + np.minimum(cols, w - 1)[None, :]).ravel()
    need = np.minimum.accumulate(first[::-1])[::-1]
    pixels = np.arange(1, oh * ow + 1, dtype=np.int64)
    return int((pixels * cout - need * cin).max())
