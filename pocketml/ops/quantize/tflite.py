"""QUANTIZE between integer types as a TFLite operator (version 2), written and read.

A QUANTIZE from a float32 model input is not this op: the reader drops it (the C takes int8).
"""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op

from pocketml.ops.quantize.op import PAIRS, Quantize
from pocketml.ops.tflite_read import EDGE_TYPES, TFLiteReader, Unsupported, op_name
from pocketml.ops.tflite_write import io, operator


def write(spec, graph, op, data) -> None:
    operator(spec, Op.QUANTIZE, 2, *io(spec, op))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    x, y = r.activation(ins[0], types=EDGE_TYPES), r.activation(out, types=EDGE_TYPES)
    tx, ty = r.tensors[x], r.tensors[y]
    if (tx.dtype, ty.dtype) not in PAIRS:
        raise Unsupported(f"QUANTIZE from {tx.dtype} to {ty.dtype} (pocketml converts "
                          + ", ".join(f"{a}->{b}" for a, b in sorted(PAIRS)) + ")")
    r.ops.append(Quantize(op_name(idx, "quantize"), (x,), y))
    return {"from": tx.dtype, "to": ty.dtype}, "quantize"


READ = {"QUANTIZE": read}
