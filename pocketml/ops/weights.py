"""Weights and biases as the TFLite int8 specification stores them (used by every weighted op).

* weights: symmetric per output channel (axis 0), ``s_w[c] = max|w[c]| / (2^(bits-1) - 1)``,
  zero point 0; ``bits`` < 8 (4 or 2, see compress/encoding.py) restricts the values to
  ``±(2^(bits-1) - 1)``, still held as int8 in the graph;
* biases: int32 with scale ``s_in · s_w[c]``, zero point 0.
"""

from __future__ import annotations

import numpy as np


def quantize_weights(weight: np.ndarray, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-output-channel weights (axis 0): returns (int8 weights, float32 scales)."""
    top = float(2 ** (bits - 1) - 1)
    flat = weight.reshape(weight.shape[0], -1).astype(np.float64)
    max_abs = np.max(np.abs(flat), axis=1)
    scale = np.where(max_abs > 0, max_abs / top, 1.0).astype(np.float32)
    q = np.clip(np.round(flat / scale.astype(np.float64)[:, None]), -top, top).astype(np.int8)
    return q.reshape(weight.shape), scale


def quantize_bias(bias: np.ndarray, input_scale: float, weight_scale: np.ndarray) -> np.ndarray:
    """int32 bias with scale ``s_in · s_w[c]``."""
    scale = np.float64(np.float32(input_scale)) * weight_scale.astype(np.float64)
    q = np.round(bias.astype(np.float64) / scale)
    return np.clip(q, -(2**31) + 1, 2**31 - 1).astype(np.int32)


def quantize_weights_and_bias(weight: np.ndarray, bias: np.ndarray, input_scale: float,
                              bits: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(int8 weights, float32 scales, int32 bias), with the bias kept in the middle half of int32.

    TFLite's converter rule (``AdjustWeightsForBiasScale``): where ``|bias[c]| >= s_in · s_w[c] · 2^30``
    (a bias the int32 accumulator could not hold beside the products, typically after an input whose
    calibrated range is almost 0), the channel's weight scale grows to ``2 |bias[c]| / (s_in (2^31 - 1))``,
    so the bias quantizes to about 2^30 and the (then negligible) weights to small values.
    """
    top = float(2 ** (bits - 1) - 1)
    _, scale = quantize_weights(weight, bits)
    s_in = np.float64(np.float32(input_scale))
    b = np.abs(np.asarray(bias, np.float64))
    limit = 0.5 * s_in * scale.astype(np.float64) * float(2**31 - 1)
    adjusted = np.where(b >= limit, (2.0 * b / float(2**31 - 1) / s_in).astype(np.float32), scale).astype(np.float32)
    flat = weight.reshape(weight.shape[0], -1).astype(np.float64)
    q = np.clip(np.round(flat / adjusted.astype(np.float64)[:, None]), -top, top).astype(np.int8)
    return q.reshape(weight.shape), adjusted, quantize_bias(bias, input_scale, adjusted)
