"""ADD as a TFLite operator (version 2; same shapes, fused activation), written and read."""

from __future__ import annotations

from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.add.op import Add
from pocketml.ops.tflite_read import ACTIVATION_NAMES, TFLiteReader, Unsupported, activation, op_name, options
from pocketml.ops.tflite_write import ACTIVATION, io, operator
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    operator(spec, Op.ADD, 2, *io(spec, op), Opt.AddOptions,
             write_options("AddOptions", FusedActivationFunction=ACTIVATION[op.activation]))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "AddOptions")
    act = o.FusedActivationFunction() if o else ActivationFunctionType.NONE
    if len(ins) != 2:
        raise Unsupported(f"{len(ins)} inputs (two expected)")
    a, b, y = r.activation(ins[0]), r.activation(ins[1]), r.activation(out)
    if not r.tensors[a].shape == r.tensors[b].shape == r.tensors[y].shape:
        raise Unsupported(f"broadcasting ADD ({list(r.tensors[a].shape)} + {list(r.tensors[b].shape)})")
    r.ops.append(Add(op_name(idx, "add"), (a, b), y, activation(act)))
    return {"activation": ACTIVATION_NAMES.get(act)}, "add"


READ = {"ADD": read}
