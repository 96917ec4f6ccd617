"""SVDF as a TFLite operator (version 3, int8 in/out, int16 or int8 memory), written and read.

Five inputs: the activation, the feature weights [F, I] (int8), the time weights [F, M] (int16 or
int8: the memory's type), the bias [U] (int32; TFLite Micro's prepare reads its scale, so it is
required) and the memory, a *variable* tensor [1, F·M] of the time weights' type.
"""

from __future__ import annotations

import numpy as np
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt
from tflite.TensorType import TensorType

from pocketml.formats.tflite import TensorQuant, TensorSpec
from pocketml.ops.svdf.op import Svdf
from pocketml.ops.tflite_read import (
    ACTIVATION_NAMES,
    TYPE_NAMES,
    TFLiteReader,
    Unsupported,
    activation,
    op_name,
    options,
)
from pocketml.ops.tflite_write import ACTIVATION, operator
from pocketml.ops.tflite_write import options as write_options

ACTIVATION_CODES = (ActivationFunctionType.NONE, ActivationFunctionType.RELU, ActivationFunctionType.RELU6)
_STATE = {TensorType.INT16: np.int16, TensorType.INT8: np.int8}


def write(spec, graph, op, data) -> None:
    x = graph.tensors[op.inputs[0]]
    n_filter, n_memory = op.state_shape
    wf = spec.add_constant(f"{op.name}/weights_feature", op.weights_feature, TensorQuant((op.feature_scale,), (0,)))
    wt = spec.add_constant(f"{op.name}/weights_time", op.weights_time, TensorQuant((op.time_scale,), (0,)))
    b = spec.add_constant(f"{op.name}/bias", np.asarray(op.bias, np.int32), TensorQuant((op.bias_scale,), (0,)))
    state = spec.add_tensor(TensorSpec(f"{op.name}/state", (1, n_filter * n_memory), op.weights_time.dtype,
                                       TensorQuant((op.state_scale,), (op.state_zero_point,)), variable=True))
    operator(spec, Op.SVDF, 3, [spec.index(x.name), wf, wt, b, state], [spec.index(op.output)], Opt.SVDFOptions,
             write_options("SVDFOptions", Rank=op.rank, FusedActivationFunction=ACTIVATION[op.activation],
                           AsymmetricQuantizeInputs=False))


def _scale(r: TFLiteReader, i: int, what: str) -> tuple[float, int]:
    scales, zps, _ = r.quant(i)
    if len(scales) != 1:
        raise Unsupported(f"{what} needs one (per-tensor) scale, got {len(scales)}")
    return float(scales[0]), int(zps[0])


def _constant(r: TFLiteReader, i: int, types: tuple[int, ...], what: str) -> np.ndarray:
    t = r.tensor(i)
    value = r.constant(i)
    if value is None or t.Type() not in types:
        raise Unsupported(f"{what} must be a constant of type {'/'.join(TYPE_NAMES[k] for k in types)}, got "
                          f"{TYPE_NAMES.get(t.Type(), t.Type())}{'' if value is not None else ' activation'}")
    return np.ascontiguousarray(value)


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "SVDFOptions")
    if o is None:
        raise Unsupported("SVDF without its options (rank)")
    act = o.FusedActivationFunction()
    opts = {"rank": int(o.Rank()), "activation": ACTIVATION_NAMES.get(act, act),
            "asymmetric_quantize_inputs": bool(o.AsymmetricQuantizeInputs())}
    if len(ins) != 5 or min(ins) < 0:
        raise Unsupported(f"inputs {list(ins)}: activation, feature weights, time weights, bias and memory expected "
                          "(TFLite Micro's kernel needs the bias)")
    wf = _constant(r, ins[1], (TensorType.INT8,), "feature weights")
    wt = _constant(r, ins[2], (TensorType.INT16, TensorType.INT8), "time weights")
    bias = _constant(r, ins[3], (TensorType.INT32,), "bias")
    if wf.ndim != 2 or wt.ndim != 2 or bias.ndim != 1:
        raise Unsupported(f"weights {list(wf.shape)}, {list(wt.shape)} and bias {list(bias.shape)}: 2-D, 2-D, 1-D "
                          "expected")
    state_t = r.tensor(ins[4])
    if not state_t.IsVariable() or r.constant(ins[4]) is not None:
        raise Unsupported("the memory (input 4) must be a variable tensor")
    if _STATE.get(state_t.Type()) is not np.dtype(wt.dtype).type:
        raise Unsupported(f"memory of type {TYPE_NAMES.get(state_t.Type(), state_t.Type())} with "
                          f"{wt.dtype} time weights (TFLite Micro reads both as one type)")
    if r.shape(ins[4]) != (1, wt.size):
        raise Unsupported(f"memory shape {list(r.shape(ins[4]))}, [1, {wt.size}] expected (batch 1)")
    x, y = r.activation(ins[0]), r.activation(out)
    (s_wf, z_wf), (s_wt, z_wt), (s_b, _) = (_scale(r, ins[1], "feature weights"), _scale(r, ins[2], "time weights"),
                                            _scale(r, ins[3], "bias"))
    s_state, z_state = _scale(r, ins[4], "memory")
    if z_wf or z_wt:
        raise Unsupported(f"weight zero points must be 0, got {z_wf} and {z_wt}")
    # TFLite Micro's integer kernel applies no fused activation (only the int8 clamp): kept for writing back
    act_name = activation(act) if act in ACTIVATION_CODES else "none"
    r.ops.append(Svdf(op_name(idx, "svdf"), (x,), y, wf.astype(np.int8), wt, bias.astype(np.int32), int(o.Rank()),
                      s_wf, s_wt, s_b, s_state, z_state, act_name))
    return opts, "svdf"


READ = {"SVDF": read}
