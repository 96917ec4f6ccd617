"""FULLY_CONNECTED's C parameters (``pocketml_fully_connected_params``): weights [out_c][depth] as
held, the bias folded with the input offset."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext, bias_fields, requant_struct


def c_params(op, data, ctx: CContext) -> CCall:
    weights = ctx.weights(op, op.weight)
    return CCall((("depth", op.weight.shape[1]), ("out_c", op.weight.shape[0]), ("input_offset", data.input_offset),
                  ("weights", weights),
                  *bias_fields(op, data, ctx), ("rq", requant_struct(ctx, data.requant))))
