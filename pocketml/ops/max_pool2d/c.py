"""MAX_POOL_2D's C parameters (``pocketml_max_pool2d_params``)."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    (ih, iw, ic), (oh, ow, _) = ctx.tensors[op.inputs[0]].shape, ctx.tensors[op.output].shape
    return CCall((("in_h", ih), ("in_w", iw), ("channels", ic), ("out_h", oh), ("out_w", ow),
                  ("k_h", op.kernel[0]), ("k_w", op.kernel[1]), ("stride_h", op.stride[0]), ("stride_w", op.stride[1]),
                  ("pad_top", op.padding[0]), ("pad_left", op.padding[1]),
                  ("act_min", data.act_min), ("act_max", data.act_max),
                  *((("int16", 1),) if ctx.tensors[op.inputs[0]].dtype == "int16" else ())))  # absent: int8
