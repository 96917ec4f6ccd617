"""What the op folders' DSP kernels share (``<kind>_dsp.h``, ``dsp.py``): the per-channel table.

Each op with a kernel for cores with the Armv7E-M DSP extension has ``dsp_params(op, data, ctx,
wide) -> CCall | None`` in its folder (its :class:`~pocketml.ops.spec.OpSpec`'s ``dsp_params``):
the fields of ``pocketml_<kind>_dsp_params`` with the weights stored in the order and width its
inner loop reads them (``wide``: int16 pairs for a build for speed, int8 for size), or None when
the layer must keep the portable kernel. ``ctx`` is the emitter's
:class:`~pocketml.ops.c.CContext` plus ``scratch(ctype, count)``: a static buffer every DSP layer
shares (one layer runs at a time), sized by the largest request. Nothing here changes a result:
the DSP kernels compute the portable kernels' integers (``docs/dsp.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

INT32_LIMIT = 2**31


def channel_table(weight: np.ndarray, bias: np.ndarray, input_offset: int, rq: Any,
                  channel_axis: int = 0) -> np.ndarray | None:
    """Per output channel ``{folded bias, multiplier, nudge, shift}`` (``pocketml_dsp_channel``), int32 [C, 4].

    A channel whose output cannot depend on its input (all its weights 0, or a multiplier of 0:
    trained-away channels keep a huge bias and a tiny scale) gets the row ``{0, 0, 2 v, 1}``, which
    requantizes to its constant output v. None when the fast requantization of ``pocketml_dsp.h``
    cannot be proven exact for every reachable accumulator of another channel: no right shift,
    ``2 * |acc|`` reaching 2^31, or the nudged sum leaving int32. The partial sums of a doubled
    accumulator (int16 weights are stored doubled) must stay in int32 too.
    """
    w = np.moveaxis(np.asarray(weight, np.int64), channel_axis, 0).reshape(np.shape(weight)[channel_axis], -1)
    bias = np.asarray(bias, np.int64)
    multiplier = np.asarray(rq.multiplier, np.int64)
    right = np.asarray(rq.right_shift, np.int64)
    constant = ~np.any(w, axis=1) | (multiplier == 0)
    live = ~constant
    x_max = max(abs(-128 + input_offset), abs(127 + input_offset))  # |x + input_offset|, x any int8
    acc = np.abs(bias) + x_max * np.abs(w).sum(axis=1)
    folded = bias + int(input_offset) * w.sum(axis=1)
    partial = np.abs(folded) + 128 * np.abs(w).sum(axis=1)  # the folded form's partial sums
    nudge = 2 ** np.maximum(right - 1, 0) + rq.output_offset * 2 ** right
    if (np.any(live & ((right < 1) | (right > 31))) or np.any(live & (2 * np.maximum(acc, partial) >= INT32_LIMIT))
            or np.any(live & (acc + 1 + np.abs(nudge) + 1 >= INT32_LIMIT))):
        return None
    value = rq.apply(bias.astype(np.int32)[None, :])[0].astype(np.int64)  # a constant channel's output
    rows = np.stack([folded, multiplier, nudge, right], axis=1)
    rows[constant] = np.stack([0 * value, 0 * value, 2 * value, 0 * value + 1], axis=1)[constant]
    return rows.astype(np.int32)


def table_for(weight: np.ndarray, bias: np.ndarray, input_offset: int, rq: Any, channel_axis: int, wide: bool,
              multiple: int = 1) -> np.ndarray | None:
    """:func:`channel_table`, biases doubled for a build for speed (its int16 weights are stored doubled:
    the requantization's SMMULR wants twice the accumulator), padded with inert rows to ``multiple``."""
    table = channel_table(weight, bias, input_offset, rq, channel_axis)
    if table is None:
        return None
    if wide:
        table = table * np.array([2, 1, 1, 1], np.int32)
    return pad_channels(table, multiple)


def pad_channels(table: np.ndarray, multiple: int) -> np.ndarray:
    """The table with zero rows appended up to a multiple of ``multiple`` channels (computed, never stored)."""
    extra = (-len(table)) % multiple
    pad = np.zeros((extra, table.shape[1]), np.int32)
    pad[:, 3] = 1  # a valid right shift keeps the discarded channel's arithmetic defined
    return np.concatenate([table, pad])


def channels_symbol(ctx, table: np.ndarray) -> str:
    """The table as a flash array, cast to the kernels' struct type."""
    return f"(const pocketml_dsp_channel *){ctx.array('int32_t', 'dsp_channels', table)}"


def weights_int16(weight: np.ndarray, depth: int, wide: bool) -> np.ndarray:
    """16x8 kernels (``pocketml_dsp_group16``): ``[C, K]`` int8 weights in blocks of 4 channels, groups of 4 k.

    wide:   words (b, g, c', 0..1) = channel 4b+c' (w[4g], w[4g+1]), (w[4g+2], w[4g+3]) as int16 pairs (not
            doubled: the 16x8 requantization is the portable one), against the int16 input's own pairs
    narrow: word  (b, g, c')      = channel 4b+c' w[4g] .. w[4g+3] as int8, widened in the loop
    K is zero-padded to ``depth`` (a multiple of 4) and C to a multiple of 4.
    """
    c, k = weight.shape
    full = np.zeros((-(-c // 4) * 4, depth), np.int8)
    full[:c, :k] = weight
    groups = np.ascontiguousarray(full.reshape(-1, 4, depth // 4, 4).transpose(0, 2, 1, 3))  # [b, g, c', 4]
    return (groups.astype("<i2") if wide else groups).view("<i4").ravel()
