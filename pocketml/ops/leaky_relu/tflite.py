"""LEAKY_RELU as a TFLite operator (version 2, ``LeakyReluOptions.alpha``), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.leaky_relu.op import LeakyReLU
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, op_name, options
from pocketml.ops.tflite_write import io, operator
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    operator(spec, Op.LEAKY_RELU, 2, *io(spec, op), Opt.LeakyReluOptions,
             write_options("LeakyReluOptions", Alpha=float(op.alpha)))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "LeakyReluOptions")
    if o is None:
        raise Unsupported("LEAKY_RELU without its options table (alpha)")
    alpha = float(o.Alpha())
    x, y = r.activation(ins[0]), r.activation(out)
    r.ops.append(LeakyReLU(op_name(idx, "leaky_relu"), (x,), y, alpha))
    return {"alpha": alpha}, "leaky_relu"


READ = {"LEAKY_RELU": read}
