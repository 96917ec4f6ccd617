"""``nn.LSTM`` captured, in float (its arithmetic), and quantized to TFLite Micro's integer LSTM.

A float layer of this kind holds, in TFLite's gate order (input, forget, cell, output: PyTorch's
``weight_ih_l0`` rows are in the same order), ``attrs["input_weights"]`` [4, S, I],
``attrs["recurrent_weights"]`` [4, S, S] and ``bias`` [4, S] (``bias_ih + bias_hh``); it maps a
[T, I] sequence to the [T, S] hidden states, from a zero state.

Not a capture target: PyTorch's ``nn.LSTM`` is unrolled over time (``graph/recurrent.py``), because
this op keeps its state between invokes, as TFLite Micro does, while a PyTorch classifier's samples
are independent (each starts from the zero state); scoring such a model through this op would carry
one sample's state into the next. ``from_float`` and ``float_forward`` are the float mirror of the
op's arithmetic (tests compare the integer LSTM with ``nn.LSTM`` through them).
"""

from __future__ import annotations

import math

import numpy as np

from pocketml.graph.layers import FloatLayer
from pocketml.ops.unidirectional_sequence_lstm.op import UnidirectionalSequenceLSTM


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
