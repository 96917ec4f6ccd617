"""RELU6 as a TFLite operator (version 2), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops.relu6.op import ReLU6
from pocketml.ops.tflite_read import TFLiteReader, check_int16_pair, op_name
from pocketml.ops.tflite_write import io, operator


def write(spec, graph, op, data) -> None:
    operator(spec, Op.RELU6, 2, *io(spec, op))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    x, y = r.activation(ins[0], types=("int16",)), r.activation(out, types=("int16",))  # int16: 16x8 models
    check_int16_pair(r, x, y, "RELU6")
    r.ops.append(ReLU6(op_name(idx, "relu6"), (x,), y))
    return {}, "relu6"


READ = {"RELU6": read}
