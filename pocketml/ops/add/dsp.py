"""ADD's parameters for cores with the DSP extension (add_dsp.h): each input's rescale, tabulated."""

from __future__ import annotations

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.ops.c import CCall, CStruct
from pocketml.ops.dsp import INT32_LIMIT


def add_table(offset: int, multiplier: int, right_shift: int) -> np.ndarray:
    """``2 * rdbp(srdhm((x + offset) * 2^20, multiplier), right_shift)`` for x = -128 .. 127 (add.c's rescale)."""
    shifted = (np.arange(-128, 128, dtype=np.int32) + offset) * (1 << 20)
    w = fixedpoint.rounding_divide_by_pot(
        fixedpoint.saturating_rounding_doubling_high_mul(shifted, np.int32(multiplier)), right_shift)
    return 2 * np.asarray(w, np.int64)


def dsp_params(op, data, ctx, wide: bool) -> CCall | None:
    d = data
    if d.geometry is not None or d.dtype != "int8":  # broadcasting, a constant operand, int16: add.c runs it
        return None
    t1 = add_table(d.input1_offset, d.input1_multiplier, d.input1_right_shift)
    t2 = add_table(d.input2_offset, d.input2_multiplier, d.input2_right_shift)
    r = d.output_right_shift
    nudge = 2 ** (r - 1) + d.output_offset * 2 ** r if r >= 1 else 0
    s_max = int(np.abs(t1).max() + np.abs(t2).max())  # twice |w_1 + w_2|
    if not 1 <= r <= 31 or s_max >= INT32_LIMIT or s_max // 2 + 1 + abs(nudge) + 1 >= INT32_LIMIT:
        return None
    a = ctx.array("int32_t", "dsp_table1", t1)
    b = ctx.array("int32_t", "dsp_table2", t2)
    out = CStruct((("bias", 0), ("multiplier", d.output_multiplier), ("nudge", nudge), ("shift", r)))
    return CCall((("size", ctx.tensors[op.output].nbytes), ("table1", f"&{a}[128]"), ("table2", f"&{b}[128]"),
                  ("out", out), ("act_min", d.act_min), ("act_max", d.act_max)))
