"""RELU6's C parameters (``pocketml_relu6_params``)."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    return CCall((("size", ctx.tensors[op.output].nbytes), ("zero", data.zero), ("six", data.six)))
