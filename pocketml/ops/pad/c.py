"""PAD's C parameters (``pocketml_pad_params``): an H, W pad of a map as before, other axes as 4-axis
shapes and paddings. int16 tensors (TFLite's 16x8: pad value 0) are padded as bytes: the last axis
counts bytes (two a value) and the pointers are cast to the kernel's int8_t."""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    shape = ctx.tensors[op.inputs[0]].shape
    wide = 2 if ctx.tensors[op.output].dtype == "int16" else 1
    args = None if wide == 1 else (f"(const int8_t *){ctx.where(op.inputs[0])}", f"(int8_t *){ctx.where(op.output)}")
    if not data.pads:
        (top, bottom), (left, right) = op.paddings[:2]
        h, w, c = shape
        return CCall((("in_h", h), ("in_w", w), ("channels", c * wide), ("pad_top", top), ("pad_bottom", bottom),
                      ("pad_left", left), ("pad_right", right), ("pad_value", data.pad_value)), args)
    lead = 4 - len(shape)

    def arr(values) -> str:
        return "{" + ", ".join(str(int(v)) for v in values) + "}"

    last = np.array([1, 1, 1, wide])  # int16: the last axis in bytes
    return CCall((("pad_value", data.pad_value), ("dims", arr(((1,) * lead + tuple(shape)) * last)),
                  ("before", arr(((0,) * lead + tuple(a for a, _ in data.pads)) * last)),
                  ("after", arr(((0,) * lead + tuple(b for _, b in data.pads)) * last))), args)
