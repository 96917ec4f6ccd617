"""RELU6's C parameters (``pocketml_relu6_params``)."""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    return CCall((("size", int(np.prod(ctx.tensors[op.output].shape))), ("zero", data.zero), ("six", data.six),
                  *((("int16", 1),) if data.dtype == "int16" else ())))  # absent: int8
