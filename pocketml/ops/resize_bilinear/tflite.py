"""RESIZE_BILINEAR as a TFLite operator (version 2, 3 with half-pixel centers; the size as an int32 constant),
written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops.resize import read_resize, write_resize
from pocketml.ops.resize_bilinear.op import ResizeBilinear


def write(spec, graph, op, data) -> None:
    write_resize(spec, graph, op, Op.RESIZE_BILINEAR, "ResizeBilinearOptions")


def read(r, idx: int, op, ins, out) -> tuple[dict, str]:
    return read_resize(r, idx, op, ins, out, "RESIZE_BILINEAR", "ResizeBilinearOptions", ResizeBilinear,
                       "resize_bilinear")


READ = {"RESIZE_BILINEAR": read}
