"""PAD's C parameters (``pocketml_pad_params``)."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    (top, bottom), (left, right) = op.paddings
    h, w, c = ctx.tensors[op.inputs[0]].shape
    return CCall((("in_h", h), ("in_w", w), ("channels", c), ("pad_top", top), ("pad_bottom", bottom),
                  ("pad_left", left), ("pad_right", right), ("pad_value", data.pad_value)))
