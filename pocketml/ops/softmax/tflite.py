"""SOFTMAX as a TFLite operator (version 2; any beta > 0), written and read."""

from __future__ import annotations

from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.softmax.op import Softmax
from pocketml.ops.tflite_read import TFLiteReader, op_name, options
from pocketml.ops.tflite_write import io, operator
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    operator(spec, Op.SOFTMAX, 2, *io(spec, op), Opt.SoftmaxOptions,
             write_options("SoftmaxOptions", Beta=float(op.beta)))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "SoftmaxOptions")
    beta = float(o.Beta()) if o is not None else 1.0
    # int16 output: TFLite Micro's audio models; int16 in and out: TFLite's 16x8 models
    x, y = r.activation(ins[0], types=("int16",)), r.activation(out, types=("int16",))
    r.ops.append(Softmax(op_name(idx, "softmax"), (x,), y, beta))
    return {"beta": beta}, "softmax"


READ = {"SOFTMAX": read}
