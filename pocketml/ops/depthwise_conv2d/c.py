"""DEPTHWISE_CONV_2D's C parameters (``pocketml_depthwise_conv2d_params``): weights as TFLite holds
them ([1, KH, KW, C_out], channel innermost), the bias folded with the input offset."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext, bias_fields, requant_struct, sum32_field


def c_params(op, data, ctx: CContext) -> CCall:
    (ih, iw, ic), (oh, ow, oc) = ctx.tensors[op.inputs[0]].shape, ctx.tensors[op.output].shape
    kh, kw = op.weight.shape[1:3]
    weights = ctx.weights(op, op.weight)
    return CCall((("in_h", ih), ("in_w", iw), ("in_c", ic), ("out_h", oh), ("out_w", ow), ("out_c", oc),
                  ("k_h", kh), ("k_w", kw), ("depth_multiplier", op.depth_multiplier),
                  ("stride_h", op.stride[0]), ("stride_w", op.stride[1]),
                  ("pad_top", op.padding[0]), ("pad_left", op.padding[1]),
                  ("dilation_h", op.dilation[0]), ("dilation_w", op.dilation[1]),
                  ("input_offset", data.input_offset), ("weights", weights),
                  *bias_fields(op, data, ctx, 3), ("rq", requant_struct(ctx, data.requant)),
                  *sum32_field(data, kh * kw)))
