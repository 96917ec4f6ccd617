"""RELU's C parameters (``pocketml_relu_params``)."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    d = data
    return CCall((("size", ctx.tensors[op.output].nbytes), ("input_zero_point", d.input_zero_point),
                  ("multiplier", d.multiplier), ("left_shift", d.left_shift), ("right_shift", d.right_shift),
                  ("output_zero_point", d.output_zero_point), ("act_min", d.act_min), ("act_max", d.act_max)))
