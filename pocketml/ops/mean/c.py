"""MEAN's C parameters (``pocketml_mean_params``)."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    """An H, W mean: ``channels`` is C (and ``outer`` stays 0: one); any other axes: [outer, count, inner]."""
    fields = (("count", data.count), ("channels", data.inner or ctx.tensors[op.inputs[0]].shape[-1]),
              ("input_zero_point", data.input_zero_point), ("multiplier", data.multiplier),
              ("left_shift", data.left_shift), ("right_shift", data.right_shift),
              ("output_zero_point", data.output_zero_point))
    fields = (*fields, ("outer", data.outer)) if data.inner else fields
    return CCall((*fields, ("int16", 1)) if data.dtype == "int16" else fields)  # absent: int8
