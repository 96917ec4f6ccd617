"""PRELU's C parameters (``pocketml_prelu_params``); the slopes in flash when constant."""

from __future__ import annotations

from pocketml.ops import broadcast
from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    d = data
    return CCall((("broadcast", broadcast.c_geometry(d.geometry)), ("input_zero_point", d.input_zero_point),
                  ("alpha_zero_point", d.alpha_zero_point), ("output_zero_point", d.output_zero_point),
                  ("identity_multiplier", d.identity_multiplier), ("identity_left_shift", d.identity_left_shift),
                  ("identity_right_shift", d.identity_right_shift), ("alpha_multiplier", d.alpha_multiplier),
                  ("alpha_left_shift", d.alpha_left_shift), ("alpha_right_shift", d.alpha_right_shift)),
                 broadcast.c_args(op, ctx))
