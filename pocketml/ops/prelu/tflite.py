"""PRELU as a TFLite operator (version 1; input and alpha), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops import broadcast
from pocketml.ops.prelu.op import PReLU
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, op_name
from pocketml.ops.tflite_write import operator


def write(spec, graph, op, data) -> None:
    operator(spec, Op.PRELU, 1, broadcast.write_inputs(spec, op), [spec.index(op.output)])


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    names, constant = broadcast.read_operands(r, ins, "PRELU")
    if constant is not None and constant.index != 1:
        raise Unsupported("PRELU whose input (not alpha) is a constant")
    y = r.activation(out)
    constant = broadcast.align_constant(constant, len(r.tensors[y].shape))
    r.ops.append(PReLU(op_name(idx, "prelu"), names, y, constant))
    return {"constant_alpha": constant is not None}, "prelu"


READ = {"PRELU": read}
