"""REDUCE_MAX as a TFLite operator (version 2; constant axes, keep_dims), written and read."""

from __future__ import annotations

import numpy as np
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.reduce_max.op import ReduceMax
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, op_name, options
from pocketml.ops.tflite_write import operator
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.output]
    axes = spec.add_constant(f"{op.name}/axis", np.array([a % len(x.shape) + 1 for a in op.axes], np.int32))
    operator(spec, Op.REDUCE_MAX, 2, [spec.index(x.name), axes], [spec.index(op.output)], Opt.ReducerOptions,
             write_options("ReducerOptions", KeepDims=len(y.shape) == len(x.shape)))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "ReducerOptions")
    if len(ins) != 2:
        raise Unsupported(f"{len(ins)} inputs (input and axes expected)")
    axes = r.constant(ins[1])
    keep = bool(o.KeepDims()) if o else False
    x, y = r.activation(ins[0]), r.activation(out)
    if axes is None:
        raise Unsupported("REDUCE_MAX's axes must be a constant")
    rank = len(r.tensors[x].shape) + 1
    resolved = sorted({int(a) % rank for a in axes.ravel()})
    if 0 in resolved:
        raise Unsupported("REDUCE_MAX over the batch axis")
    r.ops.append(ReduceMax(op_name(idx, "reduce_max"), (x,), y, r.tensors[y].shape, tuple(a - 1 for a in resolved)))
    return {"axis": axes.ravel().tolist(), "keep_dims": keep}, "reduce_max"


READ = {"REDUCE_MAX": read}
