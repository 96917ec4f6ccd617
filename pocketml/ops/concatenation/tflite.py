"""CONCATENATION as a TFLite operator (version 2; the channel axis), written and read."""

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
             write_options("ConcatenationOptions", Axis=rank, FusedActivationFunction=ACTIVATION["none"]))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "ConcatenationOptions")
    if o is None:
        raise Unsupported("CONCATENATION without its options table")
    y = r.activation(out)
    rank = len(r.tensors[y].shape) + 1
    axis, act = o.Axis(), o.FusedActivationFunction()
    opts = {"axis": axis, "activation": ACTIVATION_NAMES.get(act)}
    if axis % rank != rank - 1:
        raise Unsupported("CONCATENATION must join the last (channel) axis")
    if act != ActivationFunctionType.NONE:
        raise Unsupported("a fused activation on CONCATENATION")
    xs = tuple(r.activation(i) for i in ins)
    r.ops.append(Concatenation(op_name(idx, "concatenation"), xs, y))
    return opts, "concatenation"


READ = {"CONCATENATION": read}
