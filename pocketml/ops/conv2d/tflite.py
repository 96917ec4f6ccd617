"""CONV_2D as a TFLite operator: written (version 3, per-channel weights on axis 0) and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.conv2d.op import Conv2D
from pocketml.ops.tflite_read import (
    ACTIVATION_NAMES,
    PADDING_NAMES,
    TFLiteReader,
    Unsupported,
    activation,
    bias_types,
    feature_map,
    op_name,
    options,
    window,
)
from pocketml.ops.tflite_write import ACTIVATION, operator, weights, windowed_input
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    if op.pool is not None:  # graph/fuse.py's graphs are for the C only; the .tflite is the unfused graph
        raise ValueError(f"{op.name}: a CONV_2D with a max pool in its epilogue has no TFLite operator: "
                         "write the unfused graph")
    x = graph.tensors[op.inputs[0]]
    src, padding = windowed_input(spec, graph, op, op.weight.shape[1:3])
    w, b = weights(spec, op, x, op.weight, 0)
    operator(spec, Op.CONV_2D, 3, [src, w, b], [spec.index(op.output)], Opt.Conv2DOptions,
             write_options("Conv2DOptions", Padding=padding, StrideH=op.stride[0], StrideW=op.stride[1],
                           DilationHFactor=op.dilation[0], DilationWFactor=op.dilation[1],
                           FusedActivationFunction=ACTIVATION[op.activation]))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "Conv2DOptions")
    if o is None:
        raise Unsupported("CONV_2D without its options table")
    stride, dilation = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    opts = {"padding": PADDING_NAMES.get(o.Padding(), o.Padding()), "stride": list(stride),
            "dilation": list(dilation), "activation": ACTIVATION_NAMES.get(o.FusedActivationFunction())}
    if len(ins) < 2:
        raise Unsupported(f"{len(ins)} inputs (input, filter and an optional bias expected)")
    x, y, types = r.activations_16x8(ins[0], out, "CONV_2D")
    filt = r.shape(ins[1])
    if len(filt) != 4:
        raise Unsupported(f"filter shape {list(filt)} is not [C_out, KH, KW, C_in]")
    cout, kh, kw, cin = filt
    opts["kernel"] = [kh, kw]
    if feature_map(r.tensors[x].shape, "CONV_2D input")[2] != cin:
        raise Unsupported(f"grouped convolution: input has {r.tensors[x].shape[2]} channels, filter {cin}")
    w, scales = r.weights(ins[1], cout, 0, "filter")
    pad, end = window(r.tensors[x].shape[:2], (kh, kw), stride, dilation, o.Padding(), r.tensors[y].shape[:2],
                      "CONV_2D")
    bias = r.bias(ins, cout, bias_types(types, o))
    r.ops.append(Conv2D(op_name(idx, "conv_2d"), (x,), y, w, bias, scales, stride, pad,
                        dilation, activation(o.FusedActivationFunction()), end))
    return opts, "conv2d"


READ = {"CONV_2D": read}
