"""MUL's C parameters (``pocketml_mul_params``)."""

from __future__ import annotations

from pocketml.ops import broadcast
from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    d = data
    return CCall((("broadcast", broadcast.c_geometry(d.geometry)), ("input1_zero_point", d.input1_zero_point),
                  ("input2_zero_point", d.input2_zero_point), ("output_zero_point", d.output_zero_point),
                  ("multiplier", d.multiplier), ("left_shift", d.left_shift), ("right_shift", d.right_shift),
                  ("act_min", d.act_min), ("act_max", d.act_max), *((("int16", 1),) if d.dtype == "int16" else ())),
                 broadcast.c_args(op, ctx))  # int16 absent: int8
