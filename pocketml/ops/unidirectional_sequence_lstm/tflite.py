"""UNIDIRECTIONAL_SEQUENCE_LSTM as a TFLite operator (version 1, 24 inputs), written and read.

The inputs, in TFLite's order: 0 the sequence; 1-4 input-to-gate weights and 5-8 recurrent weights
(gates input, forget, cell, output); 9-11 peephole weights; 12-15 gate biases; 16-17 projection;
18 the hidden state and 19 the cell state (variable tensors); 20-23 layer-norm weights. What TFLite
Micro's integer kernel runs, and so what is read: int8 sequence and hidden state, int8 per-tensor
weights, int32 biases, int16 cell state with a power-of-two scale, batch-major with batch 1, the
cell gate's activation TANH, no peephole, projection or layer norm (their inputs -1). The
converter's intermediate tensors (gate scales of the float model) are not read: TFLite Micro does
not read them either.
"""

from __future__ import annotations

import numpy as np
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt
from tflite.TensorType import TensorType

from pocketml.formats.tflite import TensorQuant, TensorSpec
from pocketml.ops.tflite_read import ACTIVATION_NAMES, TYPE_NAMES, TFLiteReader, Unsupported, op_name, options
from pocketml.ops.tflite_write import activation_quant, operator
from pocketml.ops.tflite_write import options as write_options
from pocketml.ops.unidirectional_sequence_lstm.op import GATES, UnidirectionalSequenceLSTM

INPUT_WEIGHTS, RECURRENT_WEIGHTS, BIASES = range(1, 5), range(5, 9), range(12, 16)
HIDDEN, CELL = 18, 19
ABSENT = (9, 10, 11, 16, 17, 20, 21, 22, 23)  # peephole, projection, layer norm
N_INPUTS = 24


def write(spec, graph, op: UnidirectionalSequenceLSTM, data) -> None:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.output]
    units = op.bias.shape[1]
    ins = [-1] * N_INPUTS
    ins[0] = spec.index(x.name)
    for g, gate in enumerate(GATES):
        for slot, w, s in ((INPUT_WEIGHTS[g], op.input_weights[g], op.input_weight_scale[g]),
                           (RECURRENT_WEIGHTS[g], op.recurrent_weights[g], op.recurrent_weight_scale[g])):
            kind = "input" if slot < 5 else "recurrent"
            ins[slot] = spec.add_constant(f"{op.name}/{kind}_to_{gate}", w.astype(np.int8),
                                          TensorQuant((float(s),), (0,)))
        bias_scale = float(np.float32(x.quant.scale) * np.float32(op.input_weight_scale[g]))
        ins[BIASES[g]] = spec.add_constant(f"{op.name}/{gate}_bias", op.bias[g].astype(np.int32),
                                           TensorQuant((bias_scale,), (0,)))
    ins[HIDDEN] = spec.add_tensor(TensorSpec(f"{op.name}/hidden_state", (1, units), np.dtype(np.int8),
                                             activation_quant(y), variable=True))
    ins[CELL] = spec.add_tensor(TensorSpec(f"{op.name}/cell_state", (1, units), np.dtype(np.int16),
                                           TensorQuant((float(op.cell_scale),), (0,)), variable=True))
    operator(spec, Op.UNIDIRECTIONAL_SEQUENCE_LSTM, 1, ins, [spec.index(op.output)],
             Opt.UnidirectionalSequenceLSTMOptions,
             write_options("UnidirectionalSequenceLSTMOptions", FusedActivationFunction=ActivationFunctionType.TANH,
                           CellClip=float(op.cell_clip), ProjClip=0.0, TimeMajor=False,
                           AsymmetricQuantizeInputs=False))


def _weights(r: TFLiteReader, ins, slots, shape: tuple[int, int], what: str) -> tuple[np.ndarray, np.ndarray]:
    ws, scales = [], []
    for slot, gate in zip(slots, GATES, strict=True):
        if ins[slot] < 0:
            raise Unsupported(f"no {what}-to-{gate} weights (a CIFG LSTM, without an input gate, is not supported)")
        if r.shape(ins[slot]) != shape:
            raise Unsupported(f"{what}-to-{gate} weights {list(r.shape(ins[slot]))}, expected {list(shape)}")
        if len(r.quant(ins[slot])[0]) != 1:
            raise Unsupported(f"{what}-to-{gate} weights are per-channel; TFLite Micro's LSTM takes one scale")
        w, s = r.weights(ins[slot], shape[0], 0, f"{what}-to-{gate} weights")
        ws.append(w)
        scales.append(s[0])
    return np.stack(ws), np.array(scales, np.float32)


def _state(r: TFLiteReader, i: int, tensor_type: int, what: str, units: int) -> tuple[np.ndarray, np.ndarray]:
    if i < 0:
        raise Unsupported(f"no {what} tensor")
    t = r.tensor(i)
    if int(np.prod(r.shape(i), dtype=np.int64)) != units:
        raise Unsupported(f"the {what} has shape {list(r.shape(i))}, not {units} values")
    if not t.IsVariable():
        raise Unsupported(f"the {what} (tensor {r.tname(i)}) is not a variable tensor")
    if t.Type() != tensor_type:
        raise Unsupported(f"the {what} is {TYPE_NAMES.get(t.Type(), t.Type())}, not {TYPE_NAMES[tensor_type]} "
                          "(int8 activations with int16 cell state is the integer kernel pocketml has)")
    scales, zps, _ = r.quant(i)
    if len(scales) != 1:
        raise Unsupported(f"the {what} has {len(scales)} scales (one expected)")
    return scales, zps


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "UnidirectionalSequenceLSTMOptions")
    if o is None:
        raise Unsupported("no UnidirectionalSequenceLSTMOptions")
    act = o.FusedActivationFunction()
    opts = {"activation": ACTIVATION_NAMES.get(act), "cell_clip": float(o.CellClip()), "proj_clip": float(o.ProjClip()),
            "time_major": bool(o.TimeMajor())}
    if len(ins) != N_INPUTS:
        raise Unsupported(f"{len(ins)} inputs ({N_INPUTS} expected)")
    if act != ActivationFunctionType.TANH:
        raise Unsupported(f"cell activation {ACTIVATION_NAMES.get(act, act)} (TANH is supported)")
    if o.TimeMajor():
        raise Unsupported("time-major input (batch-major, [1, T, I], is supported)")
    if o.AsymmetricQuantizeInputs():
        raise Unsupported("asymmetric_quantize_inputs (a hybrid float LSTM)")
    present = [k for k in ABSENT if ins[k] >= 0]
    if present:
        raise Unsupported(f"peephole, projection or layer-norm inputs ({present}): TFLite Micro's LSTM has none")
    shape = r.shape(ins[0])
    if len(shape) != 3:
        raise Unsupported(f"input shape {list(shape)} is not [1, T, I]")
    steps, depth = shape[1], shape[2]
    units = r.shape(ins[RECURRENT_WEIGHTS[0]])[0] if ins[RECURRENT_WEIGHTS[0]] >= 0 else 0
    wx, sx = _weights(r, ins, INPUT_WEIGHTS, (units, depth), "input")
    wh, sh = _weights(r, ins, RECURRENT_WEIGHTS, (units, units), "recurrent")
    biases = []
    for slot, gate in zip(BIASES, GATES, strict=True):
        b = r.constant(ins[slot]) if ins[slot] >= 0 else None
        if b is None or r.tensor(ins[slot]).Type() != TensorType.INT32 or b.size != units:
            raise Unsupported(f"the {gate} gate's bias must be a constant int32 vector of {units}")
        biases.append(b.reshape(units))
    h_scales, h_zps = _state(r, ins[HIDDEN], TensorType.INT8, "hidden state", units)
    c_scales, c_zps = _state(r, ins[CELL], TensorType.INT16, "cell state", units)
    if c_zps[0] != 0:
        raise Unsupported(f"the cell state's zero point is {int(c_zps[0])} (0 expected)")
    x, y = r.activation(ins[0]), r.activation(out)
    if r.tensors[y].shape != (steps, units):
        raise Unsupported(f"output {[1, *r.tensors[y].shape]} is not [1, {steps}, {units}]")
    yq = r.tensors[y].quant
    if (np.float32(h_scales[0]), int(h_zps[0])) != (np.float32(yq.scale), yq.zero_point):
        raise Unsupported("the hidden state and the output are quantized differently (the output is a copy of "
                          "the hidden state's bytes)")
    lstm = UnidirectionalSequenceLSTM(op_name(idx, "lstm"), (x,), y, wx, wh, np.stack(biases).astype(np.int32),
                                      sx, sh, float(c_scales[0]), float(o.CellClip()))
    try:
        lstm.prepare(r.tensors)
    except (ValueError, OverflowError) as exc:
        raise Unsupported(str(exc)) from exc
    r.ops.append(lstm)
    return opts, "unidirectional_sequence_lstm"


READ = {"UNIDIRECTIONAL_SEQUENCE_LSTM": read}
