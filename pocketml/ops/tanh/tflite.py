"""TANH as a TFLite operator (version 2; 3 on int16: TFLite's 16x8 models), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops import sigmoid16
from pocketml.ops.tanh.op import OUTPUT_QUANT, Tanh
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, op_name
from pocketml.ops.tflite_write import io, operator


def write(spec, graph, op, data) -> None:
    operator(spec, Op.TANH, 3 if isinstance(data, sigmoid16.Sigmoid16Data) else 2, *io(spec, op))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    x, y = r.activation(ins[0], types=("int16",)), r.activation(out, types=("int16",))
    if r.tensors[x].dtype == "int16":
        try:
            sigmoid16.prepare(op_name(idx, "tanh"), "TANH", r.tensors[x], r.tensors[y])
        except ValueError as e:
            raise Unsupported(str(e).split(": ", 1)[1]) from None
    elif r.tensors[y].dtype != "int8":
        raise Unsupported(f"TANH reads INT8 and writes {r.tensors[y].dtype.upper()}: TFLite Micro runs it "
                          "int8 -> int8 or int16 -> int16")
    elif r.tensors[y].quant != OUTPUT_QUANT:
        raise Unsupported(f"int8 TANH output quantized {r.tensors[y].quant}; TFLite requires "
                          f"({OUTPUT_QUANT.scale}, {OUTPUT_QUANT.zero_point})")
    r.ops.append(Tanh(op_name(idx, "tanh"), (x,), y))
    return {}, "tanh"


READ = {"TANH": read}
