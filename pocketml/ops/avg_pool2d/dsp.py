"""AVERAGE_POOL_2D's parameters for cores with the DSP extension (avg_pool2d_dsp.h)."""

from __future__ import annotations

from pocketml.ops.c import CCall

MAX_WINDOW = 255  # int16 lanes: a window of 255 taps of |x| <= 128 sums below 2^15


def dsp_params(op, data, ctx, wide: bool) -> CCall | None:
    (ih, iw, c), (oh, ow, _) = ctx.tensors[op.inputs[0]].shape, ctx.tensors[op.output].shape
    int16 = ctx.tensors[op.inputs[0]].dtype != "int8"  # TFLite's 16x8 models keep the portable kernel
    if c % 4 or op.kernel[0] * op.kernel[1] > MAX_WINDOW or int16:
        return None
    return CCall((("in_h", ih), ("in_w", iw), ("channels", c), ("out_h", oh), ("out_w", ow),
                  ("k_h", op.kernel[0]), ("k_w", op.kernel[1]), ("stride_h", op.stride[0]), ("stride_w", op.stride[1]),
                  ("pad_top", op.padding[0]), ("pad_left", op.padding[1]),
                  ("act_min", data.act_min), ("act_max", data.act_max)))
