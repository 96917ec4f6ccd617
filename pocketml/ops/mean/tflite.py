"""MEAN as a TFLite operator (version 2; axes [1, 2] for H, W, or any adjacent axes), written and read."""

from __future__ import annotations

import numpy as np
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.mean.op import Mean
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, check_int16_pair, op_name, options
from pocketml.ops.tflite_write import operator
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.output]
    axes = [1, 2] if op.axes is None else [a % len(x.shape) + 1 for a in op.axes]
    axis = spec.add_constant(f"{op.name}/axis", np.array(axes, dtype=np.int32))
    operator(spec, Op.MEAN, 2, [spec.index(x.name), axis], [spec.index(op.output)], Opt.ReducerOptions,
             write_options("ReducerOptions", KeepDims=len(y.shape) == len(x.shape)))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "ReducerOptions")
    if len(ins) != 2:
        raise Unsupported(f"{len(ins)} inputs (input and axes expected)")
    axes = r.constant(ins[1])
    keep = bool(o.KeepDims()) if o else False
    opts = {"axis": None if axes is None else axes.ravel().tolist(), "keep_dims": keep}
    x, y = r.activation(ins[0], types=("int16",)), r.activation(out, types=("int16",))  # int16: 16x8 models
    check_int16_pair(r, x, y, "MEAN")
    rank = len(r.tensors[x].shape) + 1
    if axes is None:
        raise Unsupported("MEAN's axes must be a constant")
    resolved = sorted({int(a) % rank for a in axes.ravel()})
    if 0 in resolved:
        raise Unsupported("MEAN over the batch axis")
    hw = rank == 4 and resolved == [1, 2]
    r.ops.append(Mean(op_name(idx, "mean"), (x,), y, r.tensors[y].shape,
                      None if hw else tuple(a - 1 for a in resolved)))
    return opts, "mean"


READ = {"MEAN": read}
