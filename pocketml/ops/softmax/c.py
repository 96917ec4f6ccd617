"""SOFTMAX's C parameters (``pocketml_softmax_params``): rows of ``depth`` classes."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    x = ctx.tensors[op.inputs[0]]
    depth = x.shape[-1]
    return CCall((("rows", x.nbytes // depth), ("depth", depth), ("input_multiplier", data.input_multiplier),
                  ("input_left_shift", data.input_left_shift), ("diff_min", data.diff_min),
                  *((("output_bits", 16),) if data.output_bits == 16 else ())))  # absent: 8 bits
