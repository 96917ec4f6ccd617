"""PAD (the zero point) and PADV2 (a constant value) as TFLite operators (version 2; any axis but the
batch), written and read."""

from __future__ import annotations

import numpy as np
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt
from tflite.TensorType import TensorType

from pocketml.ops.pad.op import Pad
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, op_name
from pocketml.ops.tflite_write import activation_quant, operator
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    """Paddings per per-sample axis, the batch axis unpadded; PADV2 when a value is given."""
    x = graph.tensors[op.inputs[0]]
    amounts = np.array([[0, 0], *op.axis_paddings(len(x.shape))], dtype=np.int32)
    ins = [spec.index(op.inputs[0]), spec.add_constant(f"{op.name}/paddings", amounts)]
    if op.value is None:
        operator(spec, Op.PAD, 2, ins, [spec.index(op.output)], Opt.PadOptions, write_options("PadOptions"))
        return
    value = spec.add_constant(f"{op.name}/pad_value", np.array([op.value], dtype=np.int8), activation_quant(x))
    operator(spec, Op.PADV2, 2, [*ins, value], [spec.index(op.output)], Opt.PadV2Options,
             write_options("PadV2Options"))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    if len(ins) not in (2, 3):
        raise Unsupported(f"{len(ins)} inputs (input, paddings and an optional value expected)")
    paddings = r.constant(ins[1])
    opts = {"paddings": None if paddings is None else paddings.tolist()}
    x, y = r.activation(ins[0], types=("int16",)), r.activation(out, types=("int16",))  # int16: 16x8 models
    if r.tensors[x].dtype != r.tensors[y].dtype:
        raise Unsupported("PAD input and output of different types")
    if r.tensors[x].dtype == "int16" and (r.tensors[x].quant.zero_point != 0 or (len(ins) == 3 and ins[2] >= 0)):
        raise Unsupported("an int16 PAD needs zero point 0 and no PADV2 value (TFLite Micro pads int16 with 0)")
    rank = len(r.tensors[x].shape) + 1
    if paddings is None or paddings.shape != (rank, 2) or np.any(paddings[0] != 0) or np.any(paddings < 0):
        raise Unsupported(f"PAD needs constant non-negative [{rank}, 2] paddings that leave the batch axis alone")
    if r.tensors[x].quant != r.tensors[y].quant:
        raise Unsupported("PAD input and output quantization differ")
    value = None
    if len(ins) == 3 and ins[2] >= 0:
        v = r.constant(ins[2])
        if v is None or v.size != 1 or r.tensor(ins[2]).Type() != TensorType.INT8:
            raise Unsupported("PADV2's value must be a constant int8 scalar")
        value = int(v.ravel()[0])
        opts["value"] = value
    pairs = tuple((int(a), int(b)) for a, b in paddings[1:].tolist())
    if rank == 4 and pairs[2] == (0, 0):
        pairs = pairs[:2]  # an H, W pad of a map
    r.ops.append(Pad(op_name(idx, "pad"), (x,), y, pairs, value))
    return opts, "pad"


READ = {"PAD": read, "PADV2": read}
