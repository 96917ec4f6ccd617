"""MUL as a TFLite operator (version 2; broadcasting, a constant operand, fused activation), written and read."""

from __future__ import annotations

from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops import broadcast
from pocketml.ops.mul.op import Mul
from pocketml.ops.tflite_read import ACTIVATION_NAMES, TFLiteReader, activation, op_name, options
from pocketml.ops.tflite_write import ACTIVATION, operator
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    operator(spec, Op.MUL, 2, broadcast.write_inputs(spec, op), [spec.index(op.output)], Opt.MulOptions,
             write_options("MulOptions", FusedActivationFunction=ACTIVATION[op.activation]))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "MulOptions")
    act = o.FusedActivationFunction() if o else ActivationFunctionType.NONE
    names, constant = broadcast.read_operands(r, ins, "MUL")
    y = r.activation(out)
    constant = broadcast.align_constant(constant, len(r.tensors[y].shape))
    r.ops.append(Mul(op_name(idx, "mul"), names, y, activation(act), constant))
    return {"activation": ACTIVATION_NAMES.get(act), "constant": constant is not None}, "mul"


READ = {"MUL": read}
