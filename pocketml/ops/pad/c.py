"""PAD's C parameters (``pocketml_pad_params``): an H, W pad of a map as before, other axes as 4-axis
shapes and paddings."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    shape = ctx.tensors[op.inputs[0]].shape
    if not data.pads:
        (top, bottom), (left, right) = op.paddings[:2]
        h, w, c = shape
        return CCall((("in_h", h), ("in_w", w), ("channels", c), ("pad_top", top), ("pad_bottom", bottom),
                      ("pad_left", left), ("pad_right", right), ("pad_value", data.pad_value)))
    lead = 4 - len(shape)

    def arr(values) -> str:
        return "{" + ", ".join(str(int(v)) for v in values) + "}"

    return CCall((("pad_value", data.pad_value), ("dims", arr((1,) * lead + tuple(shape))),
                  ("before", arr((0,) * lead + tuple(a for a, _ in data.pads))),
                  ("after", arr((0,) * lead + tuple(b for _, b in data.pads)))))
