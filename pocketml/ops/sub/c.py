"""SUB's C parameters (``pocketml_sub_params``)."""

from __future__ import annotations

from pocketml.ops import broadcast
from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    d = data
    return CCall((("broadcast", broadcast.c_geometry(d.geometry)), ("input1_offset", d.input1_offset),
                  ("input2_offset", d.input2_offset), ("input1_multiplier", d.input1_multiplier),
                  ("input1_right_shift", d.input1_right_shift), ("input2_multiplier", d.input2_multiplier),
                  ("input2_right_shift", d.input2_right_shift), ("output_multiplier", d.output_multiplier),
                  ("output_right_shift", d.output_right_shift), ("output_offset", d.output_offset),
                  ("act_min", d.act_min), ("act_max", d.act_max), *((("int16", 1),) if d.dtype == "int16" else ())),
                 broadcast.c_args(op, ctx))  # int16 absent: int8
