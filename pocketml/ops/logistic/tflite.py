"""LOGISTIC as a TFLite operator (version 2), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops.logistic.op import OUTPUT_QUANT, Logistic
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, op_name
from pocketml.ops.tflite_write import io, operator


def write(spec, graph, op, data) -> None:
    operator(spec, Op.LOGISTIC, 2, *io(spec, op))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    x, y = r.activation(ins[0]), r.activation(out)
    if r.tensors[y].quant != OUTPUT_QUANT:
        raise Unsupported(f"int8 LOGISTIC output quantized {r.tensors[y].quant}; TFLite requires "
                          f"({OUTPUT_QUANT.scale}, {OUTPUT_QUANT.zero_point})")
    r.ops.append(Logistic(op_name(idx, "logistic"), (x,), y))
    return {}, "logistic"


READ = {"LOGISTIC": read}
