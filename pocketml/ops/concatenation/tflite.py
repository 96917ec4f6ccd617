"""CONCATENATION as a TFLite operator (version 2; any axis but the batch), written and read."""

from __future__ import annotations

from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.concatenation.op import Concatenation
from pocketml.ops.tflite_read import ACTIVATION_NAMES, TFLiteReader, Unsupported, op_name, options
from pocketml.ops.tflite_write import ACTIVATION, io, operator
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    rank = len(graph.tensors[op.output].shape)
    operator(spec, Op.CONCATENATION, 2, *io(spec, op), Opt.ConcatenationOptions,
             write_options("ConcatenationOptions", Axis=op.axis % rank + 1, FusedActivationFunction=ACTIVATION["none"]))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "ConcatenationOptions")
    if o is None:
        raise Unsupported("CONCATENATION without its options table")
    y = r.activation(out, types=("int16",))  # int16: TFLite's 16x8 models
    rank = len(r.tensors[y].shape) + 1
    axis, act = o.Axis(), o.FusedActivationFunction()
    opts = {"axis": axis, "activation": ACTIVATION_NAMES.get(act)}
    if not -rank <= axis < rank or axis % rank == 0:
        raise Unsupported(f"CONCATENATION on axis {axis} (the batch axis, or outside the {rank} axes)")
    if act != ActivationFunctionType.NONE:
        raise Unsupported("a fused activation on CONCATENATION")
    xs = tuple(r.activation(i, types=("int16",)) for i in ins)
    if any(r.tensors[x].dtype != r.tensors[y].dtype for x in xs):
        raise Unsupported("inputs and output of different types")
    per_sample = axis % rank - 1
    r.ops.append(Concatenation(op_name(idx, "concatenation"), xs, y,
                               -1 if per_sample == rank - 2 else per_sample))
    return opts, "concatenation"


READ = {"CONCATENATION": read}
