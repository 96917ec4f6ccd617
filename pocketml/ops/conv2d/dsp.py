"""CONV_2D's parameters for cores with the DSP extension (``pocketml_conv2d_dsp_params``, conv2d_dsp.h).

The weights are stored as the kernel's inner loop reads them (:func:`conv_weights`): channel
pairs, groups of 4 k, int16 pairs for a build for speed or int8 words for size. 16x8 (int16
activations, :func:`dsp_params_int16`): the weights per block of 4 channels, tap and group of 4 input
channels (``ops/dsp.py: weights_int16``), the portable bias and requantization; no fused pool.
"""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall, bias_fields, requant_struct
from pocketml.ops.conv2d.c import pool_fields
from pocketml.ops.dsp import channels_symbol, table_for, weights_int16


def dsp_params(op, data, ctx, wide: bool) -> CCall | None:
    if data.requant.out_dtype == "int16":
        return dsp_params_int16(op, data, ctx, wide)
    (ih, iw, ic), out = ctx.tensors[op.inputs[0]].shape, ctx.tensors[op.output].shape
    (oh, ow), oc = op.map_hw((ih, iw)), out[2]  # the conv's map: the output too unless a pool is fused
    _, kh, kw, _ = op.weight.shape
    rq = data.requant
    table = table_for(op.weight, op.bias, data.input_offset, rq, 0, wide, multiple=2)
    if table is None:
        return None
    taps = kh * kw * ic
    depth = -(-taps // 4) * 4
    unpadded = tuple(op.padding) == (0, 0) and tuple(op.padding_end or (0, 0)) == (0, 0)  # (a fused PAD's end too)
    direct = int(kh == 1 and kw == 1 and unpadded and ic % 4 == 0)
    weights = ctx.array("int32_t", "dsp_weights", conv_weights(op.weight.reshape(oc, taps), depth, wide))
    return CCall((("in_h", ih), ("in_w", iw), ("in_c", ic), ("out_h", oh), ("out_w", ow), ("out_c", oc),
                  ("k_h", kh), ("k_w", kw), ("stride_h", op.stride[0]), ("stride_w", op.stride[1]),
                  ("pad_top", op.padding[0]), ("pad_left", op.padding[1]),
                  ("dilation_h", op.dilation[0]), ("dilation_w", op.dilation[1]), ("depth", depth),
                  ("zero_point", -data.input_offset), ("act_min", rq.act_min), ("act_max", rq.act_max),
                  ("direct", direct), ("weights", weights), ("channels", channels_symbol(ctx, table)),
                  ("scratch", ctx.scratch("int32_t", depth)),
                  ("patch", "0" if direct else ctx.scratch("int8_t", 2 * depth)), *pool_fields(op, out)))



def dsp_params_int16(op, data, ctx, wide: bool) -> CCall | None:
    """16x8: ``int16 = 1``, the weights as ``weights_int16`` of ``[out_c, taps x in_c rounded up to 4]``;
    None with a fused pool (the portable kernel's)."""
    if op.pool is not None:
        return None
    ih, iw, ic = ctx.tensors[op.inputs[0]].shape
    oc, kh, kw, _ = op.weight.shape
    (oh, ow), rq = op.map_hw((ih, iw)), data.requant
    icp = -(-ic // 4) * 4
    padded = np.zeros((oc, kh, kw, icp), np.int8)
    padded[..., :ic] = op.weight
    weights = ctx.array("int32_t", "dsp_weights", weights_int16(padded.reshape(oc, -1), kh * kw * icp, wide))
    return CCall((("in_h", ih), ("in_w", iw), ("in_c", ic), ("out_h", oh), ("out_w", ow), ("out_c", oc),
                  ("k_h", kh), ("k_w", kw), ("stride_h", op.stride[0]), ("stride_w", op.stride[1]),
                  ("pad_top", op.padding[0]), ("pad_left", op.padding[1]),
                  ("dilation_h", op.dilation[0]), ("dilation_w", op.dilation[1]), ("depth", kh * kw * icp),
                  ("act_min", rq.act_min), ("act_max", rq.act_max), ("weights", weights), ("channels", "0"),
                  ("scratch", "0"), ("patch", "0"), *bias_fields(op, data, ctx), ("rq", requant_struct(ctx, rq))))


def conv_weights(w: np.ndarray, depth: int, wide: bool) -> np.ndarray:
    """``[C, K]`` int8 weights as the words ``conv2d_dsp.h`` reads, channel pairs, groups of 4 k.

    wide:   word (q, g, j, c') = channel 2q+c' (2 w[4g+j], 2 w[4g+j+2]) as int16 pairs (little-endian),
            doubled: the requantization's SMMULR wants twice the accumulator
    narrow: word (q, g, c')    = channel 2q+c' (w[4g], .., w[4g+3]) as int8
    K is zero-padded to ``depth`` and C to an even count.
    """
    c, k = w.shape
    full = np.zeros((c + c % 2, depth), np.int8)
    full[:c, :k] = w
    groups = full.reshape(-1, 2, depth // 4, 4)  # [q, c', g, 4]
    if wide:
        lanes = groups.reshape(-1, 2, depth // 4, 2, 2)  # [q, c', g, lane, j]: k = 4g + 2 lane + j
        words = lanes.transpose(0, 2, 4, 1, 3)  # [q, g, j, c', lane]
        return (2 * np.ascontiguousarray(words).astype("<i2")).view("<i4").ravel()
    words = groups.transpose(0, 2, 1, 3)  # [q, g, c', 4]
    return np.ascontiguousarray(words).view("<i4").ravel()
