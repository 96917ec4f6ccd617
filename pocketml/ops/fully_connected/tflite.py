"""FULLY_CONNECTED as a TFLite operator (version 4; per-channel weights on axis 0), written and read.

TFLite flattens whatever feeds a FULLY_CONNECTED (a [1, 1, 1, C] map, say) and may keep the
output's dimensions (``keep_num_dims``); reading adds a RESHAPE (no data moves) on either side.
"""

from __future__ import annotations

import numpy as np
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.fully_connected.op import FullyConnected
from pocketml.ops.reshape.op import Reshape
from pocketml.ops.tflite_read import (
    ACTIVATION_NAMES,
    TFLiteReader,
    Unsupported,
    activation,
    bias_types,
    op_name,
    options,
)
from pocketml.ops.tflite_write import ACTIVATION, operator, weights
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    x = graph.tensors[op.inputs[0]]
    w, b = weights(spec, op, x, op.weight, 0)
    operator(spec, Op.FULLY_CONNECTED, 4, [spec.index(x.name), w, b], [spec.index(op.output)],
             Opt.FullyConnectedOptions,
             write_options("FullyConnectedOptions", FusedActivationFunction=ACTIVATION[op.activation],
                           KeepNumDims=False))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "FullyConnectedOptions")
    act = o.FusedActivationFunction() if o else ActivationFunctionType.NONE
    opts = {"activation": ACTIVATION_NAMES.get(act), "keep_num_dims": bool(o.KeepNumDims()) if o else False,
            "weights_format": o.WeightsFormat() if o else 0}
    if o is not None and o.WeightsFormat() != 0:
        raise Unsupported("weights_format must be DEFAULT (shuffled weights are not supported)")
    if len(ins) < 2:
        raise Unsupported(f"{len(ins)} inputs (input, weights and an optional bias expected)")
    x, y, types = r.activations_16x8(ins[0], out, "FULLY_CONNECTED")
    shape = r.shape(ins[1])
    if len(shape) != 2:
        raise Unsupported(f"weights shape {list(shape)} is not [C_out, depth]")
    cout, depth = shape
    w, scales = r.weights(ins[1], cout, 0, "weights")
    kinds = ["fully_connected"]
    if r.tensors[x].shape != (depth,):
        if int(np.prod(r.tensors[x].shape)) != depth:
            raise Unsupported(f"input {[1, *r.tensors[x].shape]} does not flatten to one row of {depth}")
        flat = r.new_tensor(f"{x}/flat", (depth,), x)
        r.ops.append(Reshape(op_name(idx, "fully_connected_flatten"), (x,), flat, (depth,)))
        x, kinds = flat, ["reshape", *kinds]
    target = y
    if r.tensors[y].shape != (cout,):
        if int(np.prod(r.tensors[y].shape)) != cout:
            raise Unsupported(f"output {[1, *r.tensors[y].shape]} is not one row of {cout}")
        target = r.new_tensor(f"{y}/row", (cout,), y)
    bias = r.bias(ins, cout, bias_types(types, o))
    r.ops.append(FullyConnected(op_name(idx, "fully_connected"), (x,), target, w, bias, scales, activation(act)))
    if target != y:
        r.ops.append(Reshape(op_name(idx, "fully_connected_keep_dims"), (target,), y, r.tensors[y].shape))
        kinds.append("reshape")
    return opts, "+".join(kinds)


READ = {"FULLY_CONNECTED": read}
