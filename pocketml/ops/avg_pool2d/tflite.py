"""AVERAGE_POOL_2D as a TFLite operator (version 2; SAME/VALID padding, strides, fused activation), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.avg_pool2d.op import AvgPool2D
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
from pocketml.ops.tflite_write import ACTIVATION, operator, windowed_input
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    src, padding = windowed_input(spec, graph, op, op.kernel, fill_min=False, allow_pad=False)
    operator(spec, Op.AVERAGE_POOL_2D, 2, [src], [spec.index(op.output)], Opt.Pool2DOptions,
             write_options("Pool2DOptions", Padding=padding, StrideH=op.stride[0], StrideW=op.stride[1],
                           FilterHeight=op.kernel[0], FilterWidth=op.kernel[1],
                           FusedActivationFunction=ACTIVATION[op.activation]))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "Pool2DOptions")
    if o is None:
        raise Unsupported("AVERAGE_POOL_2D without its options table")
    kernel, stride = (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW())
    opts = {"padding": PADDING_NAMES.get(o.Padding(), o.Padding()), "filter": list(kernel),
            "stride": list(stride), "activation": ACTIVATION_NAMES.get(o.FusedActivationFunction())}
    x, y = r.activation(ins[0]), r.activation(out)
    feature_map(r.tensors[x].shape, "AVERAGE_POOL_2D input")
    if r.tensors[x].quant != r.tensors[y].quant:
        raise Unsupported(f"input and output quantization differ ({r.tensors[x].quant} vs {r.tensors[y].quant})")
    pad, end = window(r.tensors[x].shape[:2], kernel, stride, (1, 1), o.Padding(), r.tensors[y].shape[:2],
                      "AVERAGE_POOL_2D")
    r.ops.append(AvgPool2D(op_name(idx, "average_pool_2d"), (x,), y, kernel, stride, pad,
                              activation(o.FusedActivationFunction()), end))
    return opts, "avg_pool2d"


READ = {"AVERAGE_POOL_2D": read}
