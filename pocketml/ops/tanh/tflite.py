"""TANH as a TFLite operator (version 2; 3 on int16: TFLite's 16x8 models), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops import sigmoid16
from pocketml.ops.tanh.op import OUTPUT_QUANT, Tanh
from pocketml.ops.tflite_read import TFLiteReader, op_name
from pocketml.ops.tflite_write import io, operator


def write(spec, graph, op, data) -> None:
    operator(spec, Op.TANH, 3 if isinstance(data, sigmoid16.Sigmoid16Data) else 2, *io(spec, op))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    x, y = r.activation(ins[0], types=("int16",)), r.activation(out, types=("int16",))
    sigmoid16.read_tflite(r, idx, "TANH", x, y, OUTPUT_QUANT)
    r.ops.append(Tanh(op_name(idx, "tanh"), (x,), y))
    return {}, "tanh"


READ = {"TANH": read}
