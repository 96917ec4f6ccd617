"""CONV_2D's C parameters (``pocketml_conv2d_params``, conv2d.h).

Two constants differ from the reference's arrays, for speed, never for the result (integer
arithmetic makes the two equal): the bias is folded with the input offset
(:func:`~pocketml.ops.c.folded_bias`) so the inner loop multiplies plain int8 values, and the
weights are stored HWIO (output channel innermost, the layout ``conv2d.c`` vectorises over).
"""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall, CContext, CStruct, bias_fields, requant_struct, sum32_field


def stored_weights(op) -> np.ndarray:
    """The weights as ``conv2d.c`` reads them: TFLite's OHWI transposed to HWIO."""
    return np.ascontiguousarray(np.transpose(op.weight, (1, 2, 3, 0)))


def pool_fields(op, out_shape) -> tuple[tuple[str, CStruct], ...]:
    """The fused max pool (``pocketml_window_pool`` in conv2d.h, conv2d_dsp.h); none without one (C then
    zeroes it: pool.h 0)."""
    pool = op.pool
    if pool is None:
        return ()
    return (("pool", CStruct((("h", pool.kernel[0]), ("w", pool.kernel[1]), ("stride_h", pool.stride[0]),
                              ("stride_w", pool.stride[1]), ("pad_top", pool.padding[0]),
                              ("pad_left", pool.padding[1]), ("out_h", out_shape[0]), ("out_w", out_shape[1])))),)


def c_params(op, data, ctx: CContext) -> CCall:
    (ih, iw, ic), out = ctx.tensors[op.inputs[0]].shape, ctx.tensors[op.output].shape
    (oh, ow), oc = op.map_hw((ih, iw)), out[2]  # the conv's map: the output too unless a pool is fused
    kh, kw = op.weight.shape[1:3]
    weights = ctx.weights(op, stored_weights(op))
    return CCall((("in_h", ih), ("in_w", iw), ("in_c", ic), ("out_h", oh), ("out_w", ow), ("out_c", oc),
                  ("k_h", kh), ("k_w", kw), ("stride_h", op.stride[0]), ("stride_w", op.stride[1]),
                  ("pad_top", op.padding[0]), ("pad_left", op.padding[1]),
                  ("dilation_h", op.dilation[0]), ("dilation_w", op.dilation[1]),
                  ("input_offset", data.input_offset), ("weights", weights),
                  *bias_fields(op, data, ctx), ("rq", requant_struct(ctx, data.requant)), *pool_fields(op, out),
                  *sum32_field(data, int(np.prod(op.weight.shape[1:])))))
