"""C initialisers of the kernel parameter structs for the ops beyond conv/FC/max-pool.

``emit.py`` asks :func:`kernel_fields` for the brace-less initialiser of
``pocketml_<kind>_params`` (declared in ``runtime/pocketml_ops.h``, in the same field order) and
:func:`kernel_call` for the call line. Constant arrays go through the emitter's ``array``
callback so they land in flash with the model's prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pocketml.graph.ir import QuantGraph

KINDS = ("depthwise_conv2d", "avg_pool2d", "mean", "add", "concatenation", "pad", "relu", "relu6", "softmax")


def kernel_fields(op: Any, data: Any, graph: QuantGraph, ident: str,
                  array: Callable[[str, str, np.ndarray], str]) -> str:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.output]
    if op.kind == "depthwise_conv2d":
        (ih, iw, ic), (oh, ow, oc) = x.shape, y.shape
        kh, kw = op.weight.shape[1:3]
        rq = data.requant
        w = array("int8_t", f"{ident}_weights", op.weight)
        b = array("int32_t", f"{ident}_bias", op.bias)
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
