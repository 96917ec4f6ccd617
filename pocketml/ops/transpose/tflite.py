"""TRANSPOSE as a TFLite operator (version 2; the perm as an int32 constant, the batch axis first),
written and read."""

from __future__ import annotations

import numpy as np
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.tflite_read import TFLiteReader, Unsupported, op_name
from pocketml.ops.tflite_write import operator
from pocketml.ops.tflite_write import options as write_options
from pocketml.ops.transpose.op import Transpose


def write(spec, graph, op, data) -> None:
    perm = spec.add_constant(f"{op.name}/perm", np.array([0, *(p + 1 for p in op.perm)], dtype=np.int32))
    operator(spec, Op.TRANSPOSE, 2, [spec.index(op.inputs[0]), perm], [spec.index(op.output)],
             Opt.TransposeOptions, write_options("TransposeOptions"))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    if len(ins) != 2:
        raise Unsupported(f"{len(ins)} inputs (input and perm expected)")
    perm = r.constant(ins[1])
    x, y = r.activation(ins[0]), r.activation(out)
    if perm is None or perm.ndim != 1 or len(perm) != len(r.tensors[x].shape) + 1 or int(perm[0]) != 0:
        raise Unsupported("TRANSPOSE needs a constant perm that keeps the batch axis first")
    r.ops.append(Transpose(op_name(idx, "transpose"), (x,), y, tuple(int(p) - 1 for p in perm[1:])))
    return {"perm": perm.tolist()}, "transpose"


READ = {"TRANSPOSE": read}
