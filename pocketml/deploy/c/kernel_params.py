"""C initialisers of the kernel parameter structs for the ops beyond conv/FC/max-pool.

``emit.py`` asks :func:`kernel_fields` for the brace-less initialiser of
``pocketml_<kind>_params`` (declared in ``runtime/pocketml_ops.h``, in the same field order) and
:func:`kernel_call` for the call line. Constant arrays go through the emitter's ``array``
callback so they land in flash with the model's prefix.

Two constants differ from the reference's arrays, for speed, never for the result (the
reference in ``graph/ops`` keeps the textbook form; integer arithmetic makes the two equal):
:func:`folded_bias` gives the weighted kernels (conv2d, depthwise_conv2d, fully_connected)
``bias + input_offset * sum(w)``, so their inner loop multiplies plain int8 values, and
:func:`stored_weights` stores CONV_2D weights HWIO (output channel innermost, the layout
``conv2d.c`` vectorises over), encoded the same way when the layer is compressed
(:func:`stored_encoding`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pocketml.compress.encoding import EncodedWeights, encode
from pocketml.errors import PocketMLError
from pocketml.graph.ir import QuantGraph

KINDS = ("depthwise_conv2d", "avg_pool2d", "mean", "add", "concatenation", "pad", "relu", "relu6", "softmax")


def stored_weights(op: Any) -> np.ndarray:
    """The weights as the C kernel reads them: CONV_2D's OHWI transposed to HWIO, others as held."""
    if op.kind == "conv2d":
        return np.ascontiguousarray(np.transpose(op.weight, (1, 2, 3, 0)))
    return op.weight


def stored_encoding(enc: EncodedWeights, op: Any) -> EncodedWeights:
    """``enc`` (format, bits) over :func:`stored_weights`: a reordering, so the same byte count."""
    if op.kind != "conv2d":
        return enc
    stored = encode(stored_weights(op), enc.bits, enc.format)
    if stored is None or stored.nbytes != enc.nbytes:
        raise PocketMLError(f"{op.name}: its {enc.format} weights do not re-encode in the kernel's layout",
                            "this is a pocketml bug: please report it with the recipe that caused it")
    return stored


def folded_bias(weight: np.ndarray, bias: np.ndarray, input_offset: int, channel_axis: int = 0,
                name: str = "layer") -> np.ndarray:
    """``bias[c] + input_offset * (sum of weight over every axis but channel_axis)``, as int32.

    The kernels then add plain ``x * w`` products (|x| <= 128, and a padding tap adds
    ``-input_offset * w``), so every partial sum is bounded by
    ``|folded_bias| + 128 * sum |w|``; that bound must stay below 2^31.
    """
    w = np.moveaxis(np.asarray(weight, np.int64), channel_axis, 0).reshape(np.shape(weight)[channel_axis], -1)
    folded = np.asarray(bias, np.int64) + int(input_offset) * w.sum(axis=1)
    bound = np.abs(folded) + 128 * np.abs(w).sum(axis=1)
    if bound.max(initial=0) >= 2**31:
        raise PocketMLError(f"{name}: its int32 accumulator could overflow in the C kernel "
                            f"(worst case {int(bound.max())} >= 2^31)",
                            "split the layer into narrower ones (fewer input channels or a smaller kernel)")
    return folded.astype(np.int32)


def kernel_fields(op: Any, data: Any, graph: QuantGraph, ident: str,
                  array: Callable[[str, str, np.ndarray], str]) -> str:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.output]
    if op.kind == "depthwise_conv2d":
        (ih, iw, ic), (oh, ow, oc) = x.shape, y.shape
        kh, kw = op.weight.shape[1:3]
        rq = data.requant
        w = array("int8_t", f"{ident}_weights", op.weight)
        b = array("int32_t", f"{ident}_bias", folded_bias(op.weight, op.bias, data.input_offset, 3, op.name))
        m = array("int32_t", f"{ident}_multiplier", rq.multiplier)
        ls = array("int8_t", f"{ident}_left_shift", rq.left_shift)
        rs = array("int8_t", f"{ident}_right_shift", rq.right_shift)
        return (f"{ih}, {iw}, {ic}, {oh}, {ow}, {oc}, {kh}, {kw}, {op.depth_multiplier}, "
                f"{op.stride[0]}, {op.stride[1]}, {op.padding[0]}, {op.padding[1]}, {op.dilation[0]}, "
                f"{op.dilation[1]}, {data.input_offset}, {w}, {b}, "
                f"{{{m}, {ls}, {rs}, {rq.output_offset}, {rq.act_min}, {rq.act_max}}}")
    if op.kind == "avg_pool2d":
        (ih, iw, ic), (oh, ow, _) = x.shape, y.shape
        return (f"{ih}, {iw}, {ic}, {oh}, {ow}, {op.kernel[0]}, {op.kernel[1]}, {op.stride[0]}, "
                f"{op.stride[1]}, {op.padding[0]}, {op.padding[1]}, {data.act_min}, {data.act_max}")
    if op.kind == "mean":
        return (f"{data.count}, {x.shape[-1]}, {data.input_zero_point}, {data.multiplier}, {data.left_shift}, "
                f"{data.right_shift}, {data.output_zero_point}")
    if op.kind == "add":
        d = data
        return (f"{y.nbytes}, {d.input1_offset}, {d.input2_offset}, {d.input1_multiplier}, {d.input1_right_shift}, "
                f"{d.input2_multiplier}, {d.input2_right_shift}, {d.output_multiplier}, {d.output_right_shift}, "
                f"{d.output_offset}, {d.act_min}, {d.act_max}")
    if op.kind == "concatenation":
        depths = array("int32_t", f"{ident}_depths", np.array(data.depths, np.int32))
        return f"{len(data.depths)}, {data.outer}, {depths}"
    if op.kind == "pad":
        (top, bottom), (left, right) = op.paddings
        return f"{x.shape[0]}, {x.shape[1]}, {x.shape[2]}, {top}, {bottom}, {left}, {right}, {data.pad_value}"
    if op.kind == "relu":
        d = data
        return (f"{y.nbytes}, {d.input_zero_point}, {d.multiplier}, {d.left_shift}, {d.right_shift}, "
                f"{d.output_zero_point}, {d.act_min}, {d.act_max}")
    if op.kind == "relu6":
        return f"{y.nbytes}, {data.zero}, {data.six}"
    if op.kind == "softmax":
        depth = x.shape[-1]
        return f"{x.nbytes // depth}, {depth}, {data.input_multiplier}, {data.input_left_shift}, {data.diff_min}"
    raise ValueError(f"the C emitter has no kernel for op '{op.kind}' ({op.name})")


def kernel_call(op: Any, params_symbol: str, where: Callable[[str], str]) -> str:
    """The call of ``pocketml_<kind>``: inputs in order (an array literal for CONCATENATION)."""
    ins = [where(name) for name in op.inputs]
    if op.kind == "concatenation":
        args = f"(const int8_t *const[]){{{', '.join(ins)}}}"
    else:
        args = ", ".join(ins)
    return f"  pocketml_{op.kind}(&{params_symbol}, {args}, {where(op.output)});  /* {op.name} */"
