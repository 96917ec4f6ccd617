"""PAD with the zero point as a TFLite operator (version 2; height and width), written and read."""

from __future__ import annotations

import numpy as np
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.pad.op import Pad
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, op_name
from pocketml.ops.tflite_write import operator
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    """Paddings per per-sample axis, the batch axis unpadded."""
    (top, bottom), (left, right) = op.paddings
    amounts = np.array([[0, 0], [top, bottom], [left, right], [0, 0]], dtype=np.int32)
    paddings = spec.add_constant(f"{op.name}/paddings", amounts)
    operator(spec, Op.PAD, 2, [spec.index(op.inputs[0]), paddings], [spec.index(op.output)], Opt.PadOptions,
             write_options("PadOptions"))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    if len(ins) != 2:
        raise Unsupported(f"{len(ins)} inputs (input and paddings expected)")
    paddings = r.constant(ins[1])
    opts = {"paddings": None if paddings is None else paddings.tolist()}
    x, y = r.activation(ins[0]), r.activation(out)
    if paddings is None or paddings.shape != (4, 2) or np.any(paddings[[0, 3]] != 0) or np.any(paddings < 0):
        raise Unsupported("PAD must be a constant [[0,0],[top,bottom],[left,right],[0,0]] on a [1, H, W, C] map")
    if r.tensors[x].quant != r.tensors[y].quant:
        raise Unsupported("PAD input and output quantization differ")
    (t, b), (left, right) = paddings[1].tolist(), paddings[2].tolist()
    r.ops.append(Pad(op_name(idx, "pad"), (x,), y, ((int(t), int(b)), (int(left), int(right)))))
    return opts, "pad"


READ = {"PAD": read}
