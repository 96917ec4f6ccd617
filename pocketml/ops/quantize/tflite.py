"""QUANTIZE between 8-bit types as a TFLite operator (version 2), written and read.

A QUANTIZE from a float32 model input is not this op: the reader drops it (the C takes int8).
"""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops.quantize.op import Quantize
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, op_name
from pocketml.ops.tflite_write import io, operator


def write(spec, graph, op, data) -> None:
    operator(spec, Op.QUANTIZE, 2, *io(spec, op))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    x, y = r.activation(ins[0], uint8=True), r.activation(out, uint8=True)
    tx, ty = r.tensors[x], r.tensors[y]
    if tx.dtype == ty.dtype == "uint8":
        raise Unsupported("QUANTIZE from uint8 to uint8")
    r.ops.append(Quantize(op_name(idx, "quantize"), (x,), y))
    return {"from": tx.dtype, "to": ty.dtype}, "quantize"


READ = {"QUANTIZE": read}
