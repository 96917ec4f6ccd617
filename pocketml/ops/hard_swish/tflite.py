"""HARD_SWISH as a TFLite operator (version 1), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops.hard_swish.op import HardSwish
from pocketml.ops.tflite_read import TFLiteReader, op_name
from pocketml.ops.tflite_write import io, operator


def write(spec, graph, op, data) -> None:
    operator(spec, Op.HARD_SWISH, 1, *io(spec, op))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    x, y = r.activation(ins[0]), r.activation(out)
    r.ops.append(HardSwish(op_name(idx, "hard_swish"), (x,), y))
    return {}, "hard_swish"


READ = {"HARD_SWISH": read}
