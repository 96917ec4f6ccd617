"""FULLY_CONNECTED's parameters for cores with the DSP extension (fully_connected_dsp.h).

The weights per block of 4 output channels and group of 4 inputs (:func:`fc_weights`). A layer the
memory plan runs *lean* (``MemoryPlan.lean_ops``: its widened input would raise the peak) gets no
scratch: the kernel widens the input in registers, a few instructions more per group.

16x8 (int16 activations, :func:`dsp_params_int16`): the input is already int16 pairs; the weights in
the same blocks and groups (``ops/dsp.py: weights_int16``), the bias and requantization the portable
kernel's (``bias_fields``, ``requant_struct``), no scratch and no table.
"""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall, bias_fields, requant_struct
from pocketml.ops.dsp import channels_symbol, table_for, weights_int16


def dsp_params(op, data, ctx, wide: bool) -> CCall | None:
    if data.requant.out_dtype == "int16":
        return dsp_params_int16(op, data, ctx, wide)
    oc, in_depth = op.weight.shape
    rq = data.requant
    table = table_for(op.weight, op.bias, data.input_offset, rq, 0, wide, multiple=4)
    if table is None:
        return None
    depth = -(-in_depth // 4) * 4
    weights = ctx.array("int32_t", "dsp_weights", fc_weights(op.weight, depth, wide))
    scratch = "0" if ctx.lean else ctx.scratch("int32_t", depth // 2)  # "0": NULL
    return CCall((("in_depth", in_depth), ("depth", depth), ("out_c", oc), ("act_min", rq.act_min),
                  ("act_max", rq.act_max), ("weights", weights), ("table", channels_symbol(ctx, table)),
                  ("scratch", scratch)))


def fc_weights(weight: np.ndarray, depth: int, wide: bool) -> np.ndarray:
    """``[C, K]`` int8 weights as ``fully_connected_dsp.h`` reads them: blocks of 4 channels, groups of 4 k.

    wide:   words (b, g, c', 0..1) = channel 4b+c' (2 w[4g], 2 w[4g+2]), (2 w[4g+1], 2 w[4g+3]) as int16 pairs
    narrow: word  (b, g, c')      = channel 4b+c' w[4g] .. w[4g+3] as int8
    K is zero-padded to ``depth`` and C to a multiple of 4.
    """
    c, k = weight.shape
    full = np.zeros((-(-c // 4) * 4, depth), np.int8)
    full[:c, :k] = weight
    groups = full.reshape(-1, 4, depth // 4, 4).transpose(0, 2, 1, 3)  # [b, g, c', 4]
    if wide:
        lanes = groups[..., [0, 2, 1, 3]].astype("<i2") * 2
        return np.ascontiguousarray(lanes).view("<i4").ravel()
    return np.ascontiguousarray(groups).view("<i4").ravel()


def dsp_params_int16(op, data, ctx, wide: bool) -> CCall:
    """16x8: ``int16 = 1``, the weights as ``weights_int16``, the portable bias and requantization."""
    oc, in_depth = op.weight.shape
    depth = -(-in_depth // 4) * 4
    rq = data.requant
    weights = ctx.array("int32_t", "dsp_weights", weights_int16(op.weight, depth, wide))
    return CCall((("in_depth", in_depth), ("depth", depth), ("out_c", oc), ("act_min", rq.act_min),
                  ("act_max", rq.act_max), ("weights", weights), ("table", "0"), ("scratch", "0"),
                  *bias_fields(op, data, ctx), ("rq", requant_struct(ctx, rq))))

