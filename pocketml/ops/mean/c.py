"""MEAN's C parameters (``pocketml_mean_params``)."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    return CCall((("count", data.count), ("channels", ctx.tensors[op.inputs[0]].shape[-1]),
                  ("input_zero_point", data.input_zero_point), ("multiplier", data.multiplier),
                  ("left_shift", data.left_shift), ("right_shift", data.right_shift),
                  ("output_zero_point", data.output_zero_point)))
