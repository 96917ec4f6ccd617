"""What the two pooling ops share (MAX_POOL_2D, AVERAGE_POOL_2D): the .tflite Pool2DOptions mapping and
PyTorch's window geometry. Each op's folder keeps its arithmetic; this module holds only the
bookkeeping that is the same for both, as ``broadcast.py`` does for the element-wise ops."""

from __future__ import annotations

from tflite.BuiltinOptions import BuiltinOptions as Opt

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


def write_pool(spec, graph, op, builtin: int, *, fill_min: bool, allow_pad: bool) -> None:
    """A pooling op as TFLite operator ``builtin`` (version 2) with its Pool2DOptions. Max pooling pads
    with the minimum (an explicit PAD before a SAME window); average pooling cannot be padded."""
    src, padding = windowed_input(spec, graph, op, op.kernel, fill_min=fill_min, allow_pad=allow_pad)
    operator(spec, builtin, 2, [src], [spec.index(op.output)], Opt.Pool2DOptions,
             write_options("Pool2DOptions", Padding=padding, StrideH=op.stride[0], StrideW=op.stride[1],
                           FilterHeight=op.kernel[0], FilterWidth=op.kernel[1],
                           FusedActivationFunction=ACTIVATION[op.activation]))


def read_pool(r: TFLiteReader, idx: int, op, ins, out, builtin: str, op_class: type, kind: str) -> tuple[dict, str]:
    """A TFLite pooling operator ``builtin`` read into ``op_class`` (input and output share one quantization)."""
    o = options(op, "Pool2DOptions")
    if o is None:
        raise Unsupported(f"{builtin} without its options table")
    kernel, stride = (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW())
    opts = {"padding": PADDING_NAMES.get(o.Padding(), o.Padding()), "filter": list(kernel),
            "stride": list(stride), "activation": ACTIVATION_NAMES.get(o.FusedActivationFunction())}
    x, y = r.activation(ins[0], types=("int16",)), r.activation(out, types=("int16",))  # int16: 16x8 models
    feature_map(r.tensors[x].shape, f"{builtin} input")
    if r.tensors[x].dtype != r.tensors[y].dtype:
        raise Unsupported(f"input and output types differ ({r.tensors[x].dtype} vs {r.tensors[y].dtype})")
    if r.tensors[x].quant != r.tensors[y].quant:
        raise Unsupported(f"input and output quantization differ ({r.tensors[x].quant} vs {r.tensors[y].quant})")
    pad, end = window(r.tensors[x].shape[:2], kernel, stride, (1, 1), o.Padding(), r.tensors[y].shape[:2], builtin)
    r.ops.append(op_class(op_name(idx, builtin.lower()), (x,), y, kernel, stride, pad,
                          activation(o.FusedActivationFunction()), end))
    return opts, kind


def pool_geometry(w, node, a: dict, one_d: bool):
    """(kernel, stride, padding, padding_end or None, out_hw) of a pooling node, NHWC, as PyTorch sizes it.

    ``ceil_mode`` rounds the output up, except that a window starting in the right/bottom padding is
    dropped (PyTorch's rule); the windows that then run past the input get a ``padding_end`` whose
    taps are skipped (max) or not counted (average), as PyTorch does.
    """
    if one_d:
        k, s, p = int(a["kernel_size"][0]), int((a["stride"] or a["kernel_size"])[0]), int(a["padding"][0])
        k, s, p = (1, k), (1, s), (0, p)
    else:
        k, s, p = w.pool_window(a)
    src = w.spatial_input(node, "pooling")
    in_hw = w.shape_of[src][:2]
    out, end = [], []
    for i in range(2):
        span = in_hw[i] + 2 * p[i] - k[i]
        o = (-(-span // s[i]) if a.get("ceil_mode", False) else span // s[i]) + 1
        if a.get("ceil_mode", False) and (o - 1) * s[i] >= in_hw[i] + p[i]:
            o -= 1
        out.append(o)
        end.append(max(0, (o - 1) * s[i] + k[i] - in_hw[i] - p[i]))
    return src, k, s, p, (None if tuple(end) == p else tuple(end)), tuple(out)
