"""TRANSPOSE's C parameters: the output's shape and the permuted input strides."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext
from pocketml.ops.gather import gather_fields


def c_params(op, data, ctx: CContext) -> CCall:
    return CCall(gather_fields(data.dims, data.strides))
