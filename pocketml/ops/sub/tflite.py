"""SUB as a TFLite operator (version 2; broadcasting, a constant operand, fused activation), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops import broadcast
from pocketml.ops.sub.op import Sub


def write(spec, graph, op, data) -> None:
    broadcast.write_binary(spec, op, Op.SUB, "SubOptions")


def read(r, idx: int, op, ins, out) -> tuple[dict, str]:
    return broadcast.read_binary(r, idx, op, ins, out, "SUB", Sub, "sub", "SubOptions", types=("int16",))


READ = {"SUB": read}
