"""ADD's C parameters (``pocketml_add_params``)."""

from __future__ import annotations

import numpy as np

from pocketml.ops import broadcast
from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    """Same-shape operands: the flat loop (no ``broadcast`` field: zero dims); else the geometry and
    the constant operand, if any, among the arguments."""
    d = data
    fields = (("size", int(np.prod(ctx.tensors[op.output].shape))), ("input1_offset", d.input1_offset),
              ("input2_offset", d.input2_offset), ("input1_multiplier", d.input1_multiplier),
                  ("input1_right_shift", d.input1_right_shift), ("input2_multiplier", d.input2_multiplier),
              ("input2_right_shift", d.input2_right_shift), ("output_multiplier", d.output_multiplier),
              ("output_right_shift", d.output_right_shift), ("output_offset", d.output_offset),
              ("act_min", d.act_min), ("act_max", d.act_max), *((("int16", 1),) if d.dtype == "int16" else ()))
    if d.geometry is None:
        return CCall(fields)
    return CCall((*fields, ("broadcast", broadcast.c_geometry(d.geometry))), broadcast.c_args(op, ctx))
