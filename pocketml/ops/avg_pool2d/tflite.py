"""AVERAGE_POOL_2D as a TFLite operator (version 2; SAME/VALID padding, strides, fused activation), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops.avg_pool2d.op import AvgPool2D
from pocketml.ops.pooling import read_pool, write_pool


def write(spec, graph, op, data) -> None:
    write_pool(spec, graph, op, Op.AVERAGE_POOL_2D, fill_min=False, allow_pad=False)


def read(r, idx: int, op, ins, out) -> tuple[dict, str]:
    return read_pool(r, idx, op, ins, out, "AVERAGE_POOL_2D", AvgPool2D, "avg_pool2d")


READ = {"AVERAGE_POOL_2D": read}
