"""REDUCE_MAX's C parameters (``pocketml_reduce_max_params``)."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    return CCall((("outer", data.outer), ("count", data.count), ("inner", data.inner)))
