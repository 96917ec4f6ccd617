"""MAXIMUM as a TFLite operator (version 2; broadcasting, a constant operand), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops import broadcast
from pocketml.ops.maximum.op import Maximum


def write(spec, graph, op, data) -> None:
    broadcast.write_binary(spec, op, Op.MAXIMUM)


def read(r, idx: int, op, ins, out) -> tuple[dict, str]:
    return broadcast.read_binary(r, idx, op, ins, out, "MAXIMUM", Maximum, "maximum")


READ = {"MAXIMUM": read}
