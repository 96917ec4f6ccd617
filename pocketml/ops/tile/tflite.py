"""TILE as a TFLite operator (version 2; multiples as an int32 constant, 1 for the batch), written and read."""

from __future__ import annotations

import numpy as np
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.tflite_read import TFLiteReader, Unsupported, op_name
from pocketml.ops.tflite_write import operator
from pocketml.ops.tflite_write import options as write_options
from pocketml.ops.tile.op import Tile


def write(spec, graph, op, data) -> None:
    multiples = spec.add_constant(f"{op.name}/multiples", np.array([1, *op.multiples], dtype=np.int32))
    operator(spec, Op.TILE, 2, [spec.index(op.inputs[0]), multiples], [spec.index(op.output)], Opt.TileOptions,
             write_options("TileOptions"))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    if len(ins) != 2:
        raise Unsupported(f"{len(ins)} inputs (input and multiples expected)")
    m = r.constant(ins[1])
    x, y = r.activation(ins[0]), r.activation(out)
    if m is None or m.ndim != 1 or len(m) != len(r.tensors[x].shape) + 1 or int(m[0]) != 1:
        raise Unsupported("TILE needs constant multiples that leave the batch alone")
    r.ops.append(Tile(op_name(idx, "tile"), (x,), y, tuple(int(v) for v in m[1:])))
    return {"multiples": m.tolist()}, "tile"


READ = {"TILE": read}
