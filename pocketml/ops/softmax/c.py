"""SOFTMAX's C parameters (``pocketml_softmax_params``): rows of ``depth`` classes."""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall, CContext
from pocketml.ops.softmax.int16 import Softmax16Data


def c_params(op, data, ctx: CContext) -> CCall:
    """int8 input: the fixed-point constants; int16 input: the rescale and the two tables (flash)."""
    x = ctx.tensors[op.inputs[0]]
    depth = x.shape[-1]
    if isinstance(data, Softmax16Data):
        s = data.input_shift
        return CCall((("rows", int(np.prod(x.shape)) // depth), ("depth", depth),
                      ("input_multiplier", data.input_multiplier), ("input_left_shift", max(s, 0)),
                      ("int16", 1), ("input_right_shift", max(-s, 0)),
                      ("exp_lut", ctx.array("int16_t", "exp_lut", np.array(data.exp_lut, np.int16))),
                      ("recip_lut", ctx.array("int16_t", "recip_lut", np.array(data.recip_lut, np.int16)))))
    return CCall((("rows", x.nbytes // depth), ("depth", depth), ("input_multiplier", data.input_multiplier),
                  ("input_left_shift", data.input_left_shift), ("diff_min", data.diff_min),
                  *((("output_bits", 16),) if data.output_bits == 16 else ())))  # absent: 8 bits
