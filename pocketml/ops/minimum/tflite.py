"""MINIMUM as a TFLite operator (version 2; broadcasting, a constant operand), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops import broadcast
from pocketml.ops.minimum.op import Minimum
from pocketml.ops.tflite_read import TFLiteReader, op_name
from pocketml.ops.tflite_write import operator


def write(spec, graph, op, data) -> None:
    operator(spec, Op.MINIMUM, 2, broadcast.write_inputs(spec, op), [spec.index(op.output)])


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    names, constant = broadcast.read_operands(r, ins, "MINIMUM")
    y = r.activation(out)
    constant = broadcast.align_constant(constant, len(r.tensors[y].shape))
    r.ops.append(Minimum(op_name(idx, "minimum"), names, y, constant))
    return {"constant": constant is not None}, "minimum"


READ = {"MINIMUM": read}
