"""MUL as a TFLite operator (version 2; broadcasting, a constant operand, fused activation), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops import broadcast
from pocketml.ops.mul.op import Mul


def write(spec, graph, op, data) -> None:
    broadcast.write_binary(spec, op, Op.MUL, "MulOptions")


def read(r, idx: int, op, ins, out) -> tuple[dict, str]:
    return broadcast.read_binary(r, idx, op, ins, out, "MUL", Mul, "mul", "MulOptions", types=("int16",))


READ = {"MUL": read}
