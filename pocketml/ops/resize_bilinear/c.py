"""RESIZE_BILINEAR's C parameters: sizes and the per-row / per-column interpolation tables (flash)."""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    x, y = ctx.tensors[op.inputs[0]], ctx.tensors[op.output]
    tables = tuple((k, ctx.array("int32_t", k, np.array(getattr(data, k))))
                   for k in ("y0", "y1", "wy", "x0", "x1", "wx"))
    return CCall((("in_w", x.shape[1]), ("channels", x.shape[2]), ("out_h", y.shape[0]), ("out_w", y.shape[1]),
                  *tables))
