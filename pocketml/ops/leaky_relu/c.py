"""LEAKY_RELU's C parameters (``pocketml_leaky_relu_params``)."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    d = data
    return CCall((("size", ctx.tensors[op.output].nbytes), ("input_zero_point", d.input_zero_point),
                  ("output_zero_point", d.output_zero_point), ("identity_multiplier", d.identity_multiplier),
                  ("identity_left_shift", d.identity_left_shift), ("identity_right_shift", d.identity_right_shift),
                  ("alpha_multiplier", d.alpha_multiplier), ("alpha_left_shift", d.alpha_left_shift),
                  ("alpha_right_shift", d.alpha_right_shift)))
