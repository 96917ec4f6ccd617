"""RESIZE_NEAREST_NEIGHBOR's C parameters: sizes and the source row/column tables (flash)."""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    x, y = ctx.tensors[op.inputs[0]], ctx.tensors[op.output]
    return CCall((("in_w", x.shape[1]), ("channels", x.shape[2]), ("out_h", y.shape[0]), ("out_w", y.shape[1]),
                  ("rows", ctx.array("int32_t", "rows", np.array(data.rows))),
                  ("cols", ctx.array("int32_t", "cols", np.array(data.cols)))))
