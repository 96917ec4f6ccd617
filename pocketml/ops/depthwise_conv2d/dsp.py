"""DEPTHWISE_CONV_2D's parameters for cores with the DSP extension (depthwise_conv2d_dsp.h).

Depth multiplier 1 and channels % 4 == 0 only (other layers keep the portable kernel); the
weights per group of 4 channels and per tap (:func:`depthwise_weights`). Under a scratch limit
(``emit_c(scratch_limit=...)``, the smallest-RAM plan) a layer whose slab would exceed it runs in
channel blocks (passes), when its own lag lets it lie exactly over its input. 16x8 (int16
activations, :func:`dsp_params_int16`): the same channels, at most 64 taps; the weights per group and
tap pair (:func:`depthwise_weights_int16`), the portable bias and requantization, no slab.
"""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall, bias_fields, requant_struct
from pocketml.ops.dsp import channels_symbol, table_for


def dsp_params(op, data, ctx, wide: bool) -> CCall | None:
    if data.requant.out_dtype == "int16":
        return dsp_params_int16(op, data, ctx, wide)
    (ih, iw, c), (oh, ow, _) = ctx.tensors[op.inputs[0]].shape, ctx.tensors[op.output].shape
    _, kh, kw, _ = op.weight.shape
    if op.depth_multiplier != 1 or c % 4:
        return None
    rq = data.requant
    table = table_for(op.weight, op.bias, data.input_offset, rq, 3, wide)
    if table is None:
        return None
    slot_w = (ow - 1) * op.stride[1] + (kw - 1) * op.dilation[1] + 1  # slab pixels: every tap of a row
    rows = (kh - 1) * op.dilation[0] + 1
    block = c  # channels per pass: halved while the slab exceeds the plan's scratch limit, if the layer
    limit = ctx.scratch_limit  # may lie over its input in passes (its lag <= 0)
    if limit is not None and dsp_overlap_lag(op, ctx.tensors[op.inputs[0]], ctx.tensors[op.output]) <= 0:
        while block % 8 == 0 and rows * slot_w * block * 2 > limit:
            block //= 2
    weights = ctx.array("int32_t", "dsp_weights", depthwise_weights(op.weight, wide))
    return CCall((("in_h", ih), ("in_w", iw), ("channels", c), ("out_h", oh), ("out_w", ow), ("k_h", kh),
                  ("k_w", kw), ("stride_h", op.stride[0]), ("stride_w", op.stride[1]), ("pad_top", op.padding[0]),
                  ("pad_left", op.padding[1]), ("dilation_h", op.dilation[0]), ("dilation_w", op.dilation[1]),
                  ("slot_w", slot_w), ("block", block), ("zero_point", -data.input_offset), ("act_min", rq.act_min),
                  ("act_max", rq.act_max), ("weights", weights), ("table", channels_symbol(ctx, table)),
                  ("slab", ctx.scratch("int32_t", rows * slot_w * block // 2))))



DW16_TAPS = 64  # depthwise_conv2d_dsp.h POCKETML_DW16_TAPS: int32 sums of 64 * 2^22 < 2^31, the tap table


def dsp_params_int16(op, data, ctx, wide: bool) -> CCall | None:
    """16x8, depth multiplier 1, channels % 4 == 0, at most ``DW16_TAPS`` taps; else None (portable)."""
    (ih, iw, c), (oh, ow, _) = ctx.tensors[op.inputs[0]].shape, ctx.tensors[op.output].shape
    _, kh, kw, _ = op.weight.shape
    if op.depth_multiplier != 1 or c % 4 or kh * kw > DW16_TAPS:
        return None
    rq = data.requant
    weights = ctx.array("int32_t", "dsp_weights", depthwise_weights_int16(op.weight, wide))
    return CCall((("in_h", ih), ("in_w", iw), ("channels", c), ("out_h", oh), ("out_w", ow), ("k_h", kh),
                  ("k_w", kw), ("stride_h", op.stride[0]), ("stride_w", op.stride[1]), ("pad_top", op.padding[0]),
                  ("pad_left", op.padding[1]), ("dilation_h", op.dilation[0]), ("dilation_w", op.dilation[1]),
                  ("block", c), ("act_min", rq.act_min), ("act_max", rq.act_max), ("weights", weights),
                  ("table", "0"), ("slab", "0"), *bias_fields(op, data, ctx), ("rq", requant_struct(ctx, rq))))


def depthwise_weights_int16(weight: np.ndarray, wide: bool) -> np.ndarray:
    """16x8: ``[1, KH, KW, C]`` int8 weights per channel group g, per tap pair (t, t+1) (an odd count gets a zero tap).

    wide:   words (g, k, c')  = (w[t, 4g+c'], w[t+1, 4g+c']) as int16 pairs, t = 2k
    narrow: words (g, k, h)   = w[t, 4g+2h], w[t, 4g+2h+1], w[t+1, 4g+2h], w[t+1, 4g+2h+1] as int8
    """
    c = weight.shape[3]
    taps = np.asarray(weight, np.int8).reshape(-1, c)
    taps = np.concatenate([taps, np.zeros((len(taps) % 2, c), np.int8)])
    pairs = taps.reshape(-1, 2, c // 4, 4).transpose(2, 0, 3, 1)  # [g, k, c', 2 taps]
    if wide:
        return np.ascontiguousarray(pairs.astype("<i2")).view("<i4").ravel()
    halves = pairs.reshape(c // 4, -1, 2, 2, 2).transpose(0, 1, 2, 4, 3)  # [g, k, h, tap, lane]
    return np.ascontiguousarray(halves).reshape(-1).view("<i4")


def dsp_overlap_lag(op, x, y) -> int:
    """Bytes the DSP kernel's output may start below its dying input (its slab order, not pixels).

    The kernel loads every input row an output row reads into its slab before it writes that output
    row, and output row oy+1 loads no row below top(oy) + R (top(oy) = oy·sy − pt, R = (kh−1)·dh + 1).
    Writing output row oy ([oy·OW·C, (oy+1)·OW·C) at ``in_base − lag``) must stay below input row
    need(oy) = max(0, top(oy) + R) while rows remain to load: lag = max of (oy+1)·OW·C − need(oy)·W·C.
    Usually negative: written over its input at the same offset, the slab is the only temporary.
    """
    (h, w, c), (oh, ow, _) = x.shape, y.shape
    rows = (op.weight.shape[1] - 1) * op.dilation[0] + 1
    need = np.maximum(0, np.arange(oh, dtype=np.int64) * op.stride[0] - op.padding[0] + rows)
    later = need < h  # rows still to load after output row oy
    if not later.any():
        return -h * w * c
    oy = np.arange(oh, dtype=np.int64)[later]
    return int(((oy + 1) * ow * c - need[later] * w * c).max())


def depthwise_weights(weight: np.ndarray, wide: bool) -> np.ndarray:
    """``[1, KH, KW, C]`` int8 weights as ``depthwise_conv2d_dsp.h`` reads them: per channel group, per tap.

    wide:   words (g, t, 0..1) = (2 w[t, 4g], 2 w[t, 4g+2]), (2 w[t, 4g+1], 2 w[t, 4g+3]) as int16 pairs
    narrow: word  (g, t)      = w[t, 4g] .. w[t, 4g+3] as int8
    """
    c = weight.shape[3]
    groups = np.asarray(weight, np.int8).reshape(-1, c // 4, 4).transpose(1, 0, 2)  # [g, t, 4]
    if wide:
        lanes = groups[:, :, [0, 2, 1, 3]].astype("<i2") * 2
        return np.ascontiguousarray(lanes).view("<i4").ravel()
    return np.ascontiguousarray(groups).view("<i4").ravel()
