"""``nn.LSTM`` captured, in float (its arithmetic), and quantized to TFLite Micro's integer LSTM.

A float layer of this kind holds, in TFLite's gate order (input, forget, cell, output: PyTorch's
``weight_ih_l0`` rows are in the same order), ``attrs["input_weights"]`` [4, S, I],
``attrs["recurrent_weights"]`` [4, S, S] and ``bias`` [4, S] (``bias_ih + bias_hh``); it maps a
[T, I] sequence to the [T, S] hidden states, from a zero state.

Capture (``aten.lstm.input``): one layer, ``batch_first``, unidirectional, zero initial state
(``aten.zeros``, which PyTorch makes when no state is passed). pocketml holds a [N, T, I] tensor as
a signal, NHWC (1, I, T) (``graph/capture.py: nhwc_shape``), so the LSTM is wrapped in layout moves:
TRANSPOSE to (1, T, I), RESHAPE to (T, I), the LSTM, RESHAPE to (1, T, S), TRANSPOSE to (1, S, T),
which later layers read as PyTorch's [N, T, S]. Each LSTM holds its state between calls of the
generated C (docs/compile.md, "LSTM state"); ``shrink`` verifies each input from the initial
state, which is what ``nn.LSTM`` without ``hx`` computes.
"""

from __future__ import annotations

import math

import numpy as np

from pocketml.graph.layers import FloatLayer
from pocketml.ops.unidirectional_sequence_lstm.op import UnidirectionalSequenceLSTM

ZEROS = "aten.zeros.default"


def capture_zeros(w, node) -> None:
    """``torch.zeros``: accepted only as an ``nn.LSTM``'s initial state (the LSTM rule checks it)."""
    if not node.users or any(str(u.target) != "aten.lstm.input" for u in node.users):
        raise w.fail(node, "torch.zeros as a tensor of the model (only an nn.LSTM's initial state is supported)")


def _zero_state(x, units: int):
    """The zero (h0, c0) of ``x``'s batch: ``torch.export`` fixes ``aten.zeros`` at the example's batch
    of 1, which calibration (batches of many) would overrun."""
    return x.new_zeros(1, x.shape[0], units)


def _observed(fx: str):
    return (fx, lambda t: t)


def capture_lstm(w, node) -> None:
    x, hx, params, has_biases, num_layers, _dropout, _train, bidirectional, batch_first = node.args[:9]
    if num_layers != 1 or bidirectional or not batch_first:
        raise w.fail(node, f"nn.LSTM with num_layers={num_layers}, bidirectional={bidirectional}, "
                     f"batch_first={batch_first}; one layer, unidirectional, batch_first=True is supported "
                     "(stack LSTMs as separate modules)")
    if any(not w.is_tensor(h) or str(h.target) != ZEROS for h in hx):
        raise w.fail(node, "an nn.LSTM given an initial state (h0, c0); only the zero state is supported")
    if len(params) != (4 if has_biases else 2):
        raise w.fail(node, "an nn.LSTM with projections (proj_size) is not supported")
    w_ih, w_hh = w.const(params[0]), w.const(params[1])
    units, depth = w_hh.shape[1], w_ih.shape[1]
    bias = (w.const(params[2]) + w.const(params[3])) if has_biases else np.zeros(4 * units, np.float32)
    src = w.tensor(node, x)
    shape = w.shape_of[src]
    if len(shape) != 3 or shape[0] != 1 or shape[1] != depth:
        raise w.fail(node, f"an nn.LSTM reading a tensor of shape {shape}; a [N, T, {depth}] sequence is expected")
    steps = shape[2]
    for h in hx:  # the exported program's zero state follows the batch it runs on
        node.prepend(h)
        h.target, h.args, h.kwargs = _zero_state, (x, units), {}
    seen = _observed(node.name)
    chain = [
        FloatLayer("transpose", w.new_name("lstm_in_t"), f"{node.name}__in_t", (1, steps, depth),
                   attrs={"perm": (0, 2, 1), "observe": _observed(x.name)}, inputs=(src,)),
        FloatLayer("reshape", w.new_name("lstm_in"), f"{node.name}__in", (steps, depth),
                   attrs={"observe": _observed(x.name)}),
        FloatLayer("unidirectional_sequence_lstm", w.new_name("lstm"), f"{node.name}__lstm", (steps, units),
                   bias=bias.reshape(4, units),
                   attrs={"input_weights": w_ih.reshape(4, units, depth),
                          "recurrent_weights": w_hh.reshape(4, units, units), "observe": seen}),
        FloatLayer("reshape", w.new_name("lstm_out"), f"{node.name}__out", (1, steps, units), attrs={"observe": seen}),
        FloatLayer("transpose", w.new_name("lstm_out_t"), f"{node.name}__out_t", (1, units, steps),
                   attrs={"perm": (0, 2, 1), "observe": seen}),
    ]
    for before, layer in zip(chain[:-1], chain[1:], strict=True):
        layer.inputs = (before.name,)
    for layer in chain[:-1]:  # helper layers: no FX node holds their values (calibration derives them)
        w.layers.append(layer)
        w.layer_by_name[layer.name] = layer
        w.shape_of[layer.name] = layer.out_shape
    w.add(node, chain[-1])
    for layer in chain[:-1]:
        layer.module = chain[-1].module  # the user's nn.LSTM, for messages


CAPTURE = {"aten.lstm.input": capture_lstm, ZEROS: capture_zeros}


def cell_scale_for(steps: int) -> float:
    """A power-of-two cell scale no sequence of ``steps`` can saturate: ``|c_t| <= |c_(t-1)| + 1``
    (forget gate < 1, input gate · cell gate <= 1), so ``|c| <= steps`` and int16 must reach it."""
    return 2.0 ** (math.ceil(math.log2(steps + 1)) - 15)


def _per_gate_int8(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[4, S, K] float weights → int8 and one symmetric scale per gate (TFLite Micro's LSTM takes one)."""
    scales = np.maximum(np.abs(w).reshape(4, -1).max(axis=1), 1e-12) / 127.0
    scales = scales.astype(np.float32)
    q = np.clip(np.round(w / scales[:, None, None].astype(np.float64)), -127, 127).astype(np.int8)
    return q, scales


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> UnidirectionalSequenceLSTM:
    x = xs[0]
    wx, sx = _per_gate_int8(np.asarray(layer.attrs["input_weights"], np.float64))
    wh, sh = _per_gate_int8(np.asarray(layer.attrs["recurrent_weights"], np.float64))
    bias_scale = np.float64(np.float32(x.quant.scale)) * sx.astype(np.float64)
    bias = np.clip(np.round(np.asarray(layer.bias, np.float64) / bias_scale[:, None]), -2**31, 2**31 - 1)
    return UnidirectionalSequenceLSTM(layer.name, (x.name,), out.name, wx, wh, bias.astype(np.int32), sx, sh,
                                      cell_scale_for(x.shape[0]))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """``nn.LSTM`` (one layer, batch first, zero initial state) on [N, T, I]: the [N, T, S] hidden states."""
    import torch

    x = xs[0]
    wx = torch.as_tensor(np.asarray(layer.attrs["input_weights"]), dtype=x.dtype)
    wh = torch.as_tensor(np.asarray(layer.attrs["recurrent_weights"]), dtype=x.dtype)
    b = torch.as_tensor(np.asarray(layer.bias if bias is None else bias), dtype=x.dtype)
    units = wh.shape[1]
    h = x.new_zeros(x.shape[0], units)
    c = x.new_zeros(x.shape[0], units)
    outs = []
    for t in range(x.shape[1]):
        pre = torch.einsum("ni,gsi->ngs", x[:, t], wx) + torch.einsum("ns,gjs->ngj", h, wh) + b
        i, f, g, o = torch.sigmoid(pre[:, 0]), torch.sigmoid(pre[:, 1]), torch.tanh(pre[:, 2]), torch.sigmoid(pre[:, 3])
        c = f * c + i * g
        h = o * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs, dim=1)
