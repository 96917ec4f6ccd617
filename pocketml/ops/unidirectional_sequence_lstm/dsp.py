"""UNIDIRECTIONAL_SEQUENCE_LSTM's parameters for cores with the DSP extension
(unidirectional_sequence_lstm_dsp.h): the portable kernel's own, since only the dot product differs
(the weights stay int8, built for speed or size)."""

from __future__ import annotations

from pocketml.ops.c import CCall
from pocketml.ops.unidirectional_sequence_lstm.c import c_params


def dsp_params(op, data, ctx, wide: bool) -> CCall:
    return c_params(op, data, ctx)
