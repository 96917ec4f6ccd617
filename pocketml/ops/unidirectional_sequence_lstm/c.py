"""UNIDIRECTIONAL_SEQUENCE_LSTM's C parameters (``pocketml_unidirectional_sequence_lstm_params``): the
weights as held ([4][S][I], [4][S][S]), the biases folded with the zero points, the eleven
multipliers, the gates' table, and the two state arrays the model keeps between calls."""

from __future__ import annotations

import numpy as np

from pocketml.graph.ir import PER_INFERENCE
from pocketml.ops.c import CCall, CContext, folded_bias
from pocketml.ops.sigmoid16 import SIGMOID_Q16


def c_params(op, data, ctx: CContext) -> CCall:
    units, depth = op.bias.shape[1], op.input_weights.shape[2]
    wx = op.input_weights.reshape(4 * units, depth)
    wh = op.recurrent_weights.reshape(4 * units, units)
    input_bias = folded_bias(wx, op.bias.reshape(-1), data.input_offset, 0, op.name)
    recurrent_bias = folded_bias(wh, np.zeros(4 * units, np.int32), data.hidden_offset, 0, op.name)
    muls = (data.input_fc, data.recurrent_fc, data.forget_mul, data.input_mul, data.output_mul)
    return CCall((
        ("steps", data.steps), ("depth", depth), ("units", units),
        ("input_weights", ctx.array("int8_t", "input_weights", wx)),
        ("recurrent_weights", ctx.array("int8_t", "recurrent_weights", wh)),
        ("input_bias", ctx.array("int32_t", "input_bias", input_bias)),
        ("recurrent_bias", ctx.array("int32_t", "recurrent_bias", recurrent_bias)),
        ("multiplier", ctx.array("int32_t", "multiplier", np.concatenate([m.multiplier for m in muls]))),
        ("left_shift", ctx.array("int8_t", "left_shift", np.concatenate([m.left_shift for m in muls]))),
        ("right_shift", ctx.array("int8_t", "right_shift", np.concatenate([m.right_shift for m in muls]))),
        ("sigmoid", ctx.array("uint16_t", "sigmoid", SIGMOID_Q16)),
        ("hidden_zero_point", data.hidden_zero_point),
        ("tanh_multiplier", data.tanh_multiplier), ("tanh_shift", data.tanh_shift),
        ("cell_clip", data.cell_clip),
        ("reset_each_call", int(op.state == PER_INFERENCE)),
        ("hidden", ctx.state("int8_t", "hidden", units, data.hidden_zero_point)),
        ("cell", ctx.state("int16_t", "cell", units, 0)),
    ))
