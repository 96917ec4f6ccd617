"""CONCATENATION's C parameters (``pocketml_concatenation_params``); the inputs are passed as one
array literal of pointers."""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    depths = ctx.array("int32_t", "depths", np.array(data.depths, np.int32))
    inputs = ", ".join(ctx.where(name) for name in op.inputs)
    return CCall((("n_inputs", len(data.depths)), ("outer", data.outer), ("depths", depths)),
                 args=(f"(const int8_t *const[]){{{inputs}}}", ctx.where(op.output)))
