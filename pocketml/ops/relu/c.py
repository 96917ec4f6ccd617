"""RELU's C parameters (``pocketml_relu_params``)."""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    d = data
    return CCall((("size", int(np.prod(ctx.tensors[op.output].shape))), ("input_zero_point", d.input_zero_point),
                  ("multiplier", d.multiplier), ("left_shift", d.left_shift), ("right_shift", d.right_shift),
                  ("output_zero_point", d.output_zero_point), ("act_min", d.act_min), ("act_max", d.act_max),
                  *((("int16", 1),) if d.dtype == "int16" else ())))  # absent: int8
