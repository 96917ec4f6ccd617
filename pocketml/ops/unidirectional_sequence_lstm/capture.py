"""``nn.LSTM`` captured, in float (its arithmetic), and quantized to TFLite Micro's integer LSTM.

A float layer of this kind holds, in TFLite's gate order (input, forget, cell, output: PyTorch's
``weight_ih_l0`` rows are in the same order), ``attrs["input_weights"]`` [4, S, I],
``attrs["recurrent_weights"]`` [4, S, S] and ``bias`` [4, S] (``bias_ih + bias_hh``); it maps a
[T, I] sequence to the [T, S] hidden states, from a zero state.

``nn.LSTM`` becomes one such layer in ``graph/recurrent.py`` (``recurrent="sequence"``, the default;
``"unroll"`` unrolls it into ordinary ops instead), with ``attrs["state"]`` = ``"per-inference"``: a
PyTorch classifier's samples are independent, each starting from the zero state, so every invoke
starts from the reset state (graph/ir.py ``STATE_SEMANTICS``). Quantized as the TFLite converter
does for its int8 x int16 LSTM: weights int8 symmetric, one scale per gate; biases int32 at
``s_x · s_w``; the hidden state and output int8 from the calibrated output range; the cell state
int16 at the power-of-two scale of its calibrated range (``attrs["ranges"]["cell"]``, observed by
calibration through ``attrs["observe_extra"]`` = :func:`cell_states`; :func:`cell_scale_of_range`,
the converter's rule);
the gates' fixed Q3.12 / Q0.15 scales need no calibration (TFLite Micro's kernel ignores the
converter's gate statistics).
"""

from __future__ import annotations

import math

import numpy as np

from pocketml.graph.ir import STREAMING
from pocketml.graph.layers import FloatLayer
from pocketml.ops.unidirectional_sequence_lstm.op import UnidirectionalSequenceLSTM


def cell_scale_for(steps: int) -> float:
    """A power-of-two cell scale no sequence of ``steps`` can saturate: ``|c_t| <= |c_(t-1)| + 1``
    (forget gate < 1, input gate · cell gate <= 1), so ``|c| <= steps`` and int16 must reach it."""
    return 2.0 ** (math.ceil(math.log2(steps + 1)) - 15)


def cell_scale_of_range(lo: float, hi: float) -> float:
    """The TFLite converter's int16 cell-state scale: ``2^pot / 32768``, ``pot`` the smallest power
    of two in [0, 10] reaching ``max(|lo|, |hi|)`` (its ``GetPowerOfTwoScale``)."""
    reach = max(abs(float(np.float32(lo))), abs(float(np.float32(hi))))
    pot = 0
    for _ in range(10):
        if 2.0**pot < reach:
            pot += 1
    return 2.0 ** (pot - 15)


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
    cell = layer.attrs.get("ranges", {}).get("cell")
    cell_scale = cell_scale_of_range(*cell) if cell is not None else cell_scale_for(x.shape[0])
    return UnidirectionalSequenceLSTM(layer.name, (x.name,), out.name, wx, wh, bias.astype(np.int32), sx, sh,
                                      cell_scale, state=layer.attrs.get("state", STREAMING))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """``nn.LSTM`` (one layer, batch first, zero initial state) on [N, T, I]: the [N, T, S] hidden states."""
    return float_states(layer, xs[0], bias)[0]


def cell_states(layer: FloatLayer, xs, weight, bias):
    """The cell states ``nn.LSTM`` goes through on [N, T, I] ([N, T, S]): what calibration observes for
    the int16 cell scale (``attrs["observe_extra"]``, set by ``graph/recurrent.py``)."""
    return float_states(layer, xs[0], bias)[1]


def float_states(layer: FloatLayer, x, bias=None):
    """``nn.LSTM``'s hidden and cell states on [N, T, I]: two [N, T, S] tensors."""
    import torch

    wx = torch.as_tensor(np.asarray(layer.attrs["input_weights"]), dtype=x.dtype)
    wh = torch.as_tensor(np.asarray(layer.attrs["recurrent_weights"]), dtype=x.dtype)
    b = bias if isinstance(bias, torch.Tensor) else torch.as_tensor(np.asarray(layer.bias if bias is None else bias))
    b = b.to(x.dtype)
    units = wh.shape[1]
    h = x.new_zeros(x.shape[0], units)
    c = x.new_zeros(x.shape[0], units)
    hs, cs = [], []
    for t in range(x.shape[1]):
        pre = torch.einsum("ni,gsi->ngs", x[:, t], wx) + torch.einsum("ns,gjs->ngj", h, wh) + b
        i, f, g, o = torch.sigmoid(pre[:, 0]), torch.sigmoid(pre[:, 1]), torch.tanh(pre[:, 2]), torch.sigmoid(pre[:, 3])
        c = f * c + i * g
        h = o * torch.tanh(c)
        hs.append(h)
        cs.append(c)
    return torch.stack(hs, dim=1), torch.stack(cs, dim=1)
