"""RESHAPE as a TFLite operator (version 1, new shape as input and option), written; RESHAPE, SQUEEZE
and EXPAND_DIMS read (none moves data)."""

from __future__ import annotations

import numpy as np
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.formats.tflite import table
from pocketml.ops.reshape.op import Reshape
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, op_name
from pocketml.ops.tflite_write import batch_shape, operator


def write(spec, graph, op, data) -> None:
    y = graph.tensors[op.output]
    shape = spec.add_constant(f"{op.name}/shape", np.array(batch_shape(y), dtype=np.int32))
    options = table("ReshapeOptions")

    def write_options(fb):
        new_shape = fb.CreateNumpyVector(np.array(batch_shape(y), dtype=np.int32))  # vectors before the table
        options.ReshapeOptionsStart(fb)
        options.ReshapeOptionsAddNewShape(fb, new_shape)
        return options.ReshapeOptionsEnd(fb)

    operator(spec, Op.RESHAPE, 1, [spec.index(op.inputs[0]), shape], [spec.index(op.output)], Opt.ReshapeOptions,
             write_options)


def _reader(builtin: str):
    def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
        x, y = r.activation(ins[0], types=("int16",)), r.activation(out, types=("int16",))  # int16: 16x8 models
        tx, ty = r.tensors[x], r.tensors[y]
        if tx.quant != ty.quant or tx.nbytes != ty.nbytes or tx.dtype != ty.dtype:
            raise Unsupported("input and output must hold the same elements with the same type and quantization")
        r.ops.append(Reshape(op_name(idx, builtin.lower()), (x,), y, r.tensors[y].shape))
        return {"new_shape": [1, *r.tensors[y].shape]}, "reshape"
    return read


READ = {"RESHAPE": _reader("RESHAPE"), "SQUEEZE": _reader("SQUEEZE"), "EXPAND_DIMS": _reader("EXPAND_DIMS")}
