"""QUANTIZE's C parameters: 8-bit to 8-bit, its table by input byte (flash); otherwise the multiplier,
zero points and element sizes the kernel computes with."""

from __future__ import annotations

import numpy as np

from pocketml.graph.ir import DTYPES, RANGES
from pocketml.ops.c import CCall, CContext
from pocketml.ops.table import c_params as table_params


def c_params(op, data, ctx: CContext) -> CCall:
    if data.table is not None:
        return table_params(op, data, ctx)
    x, y = ctx.tensors[op.inputs[0]], ctx.tensors[op.output]
    return CCall((("size", int(np.prod(y.shape))), ("table", 0),
                  ("input_bytes", np.dtype(DTYPES[x.dtype]).itemsize),
                  ("output_bytes", np.dtype(DTYPES[y.dtype]).itemsize), ("multiplier", data.multiplier),
                  ("left_shift", data.left_shift), ("right_shift", data.right_shift),
                  ("input_zero_point", data.input_zero_point), ("output_zero_point", data.output_zero_point),
                  ("out_min", _c_int(RANGES[y.dtype][0])), ("out_max", RANGES[y.dtype][1])))


def _c_int(v: int) -> str | int:
    """INT32_MIN cannot be written as a decimal literal of type int32_t."""
    return "INT32_MIN" if v == -2**31 else v
