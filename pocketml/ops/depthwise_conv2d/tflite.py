"""DEPTHWISE_CONV_2D as a TFLite operator (version 3; weights [1, KH, KW, C_out], channels on axis 3)."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.depthwise_conv2d.op import DepthwiseConv2D
from pocketml.ops.tflite_read import (
    ACTIVATION_NAMES,
    PADDING_NAMES,
    TFLiteReader,
    Unsupported,
    activation,
    feature_map,
    op_name,
    options,
    window,
)
from pocketml.ops.tflite_write import ACTIVATION, operator, weights, windowed_input
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    x = graph.tensors[op.inputs[0]]
    src, padding = windowed_input(spec, graph, op, op.weight.shape[1:3])
    w, b = weights(spec, op, x, op.weight, 3)
    operator(spec, Op.DEPTHWISE_CONV_2D, 3, [src, w, b], [spec.index(op.output)], Opt.DepthwiseConv2DOptions,
             write_options("DepthwiseConv2DOptions", Padding=padding, StrideH=op.stride[0], StrideW=op.stride[1],
                           DepthMultiplier=op.depth_multiplier, DilationHFactor=op.dilation[0],
                           DilationWFactor=op.dilation[1], FusedActivationFunction=ACTIVATION[op.activation]))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "DepthwiseConv2DOptions")
    if o is None:
        raise Unsupported("DEPTHWISE_CONV_2D without its options table")
    stride, dilation = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    opts = {"padding": PADDING_NAMES.get(o.Padding(), o.Padding()), "stride": list(stride),
            "dilation": list(dilation), "depth_multiplier": o.DepthMultiplier(),
            "activation": ACTIVATION_NAMES.get(o.FusedActivationFunction())}
    if len(ins) < 2:
        raise Unsupported(f"{len(ins)} inputs (input, filter and an optional bias expected)")
    x, y, bias_types = r.activations_16x8(ins[0], out, "DEPTHWISE_CONV_2D", int32_bias=False)
    filt = r.shape(ins[1])
    if len(filt) != 4:
        raise Unsupported(f"filter shape {list(filt)} is not [1, KH, KW, C_out]")
    one, kh, kw, cout = filt
    opts["kernel"] = [kh, kw]
    cin = feature_map(r.tensors[x].shape, "DEPTHWISE_CONV_2D input")[2]
    if one != 1 or cout % cin:
        raise Unsupported(f"filter {[one, kh, kw, cout]} is not [1, KH, KW, C·M] for {cin} input channels")
    multiplier = cout // cin  # TFLM derives it from the shapes too (the option is 0 in some files)
    if o.DepthMultiplier() not in (0, multiplier):
        raise Unsupported(f"depth_multiplier {o.DepthMultiplier()} disagrees with the shapes ({multiplier})")
    w, scales = r.weights(ins[1], cout, 3, "filter")
    pad, end = window(r.tensors[x].shape[:2], (kh, kw), stride, dilation, o.Padding(), r.tensors[y].shape[:2],
                      "DEPTHWISE_CONV_2D")
    r.ops.append(DepthwiseConv2D(op_name(idx, "depthwise_conv_2d"), (x,), y, w, r.bias(ins, cout, bias_types), scales,
                                 stride, pad, dilation, multiplier, activation(o.FusedActivationFunction()), end))
    return opts, "depthwise_conv2d"


READ = {"DEPTHWISE_CONV_2D": read}
