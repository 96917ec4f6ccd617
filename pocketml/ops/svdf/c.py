"""SVDF's C parameters (``pocketml_svdf_params``): weights as held, the memory a static array that
keeps its values between invokes (``ctx.state``, filled with the state zero point by ``<prefix>_reset``)."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    n_filter, n_memory = op.state_shape
    wide = op.state_dtype == "int16"
    ctype = "int16_t" if wide else "int8_t"
    time = ctx.array(ctype, "weights_time", op.weights_time)
    state = ctx.state(ctype, "state", n_filter * n_memory, data.state_zero_point)
    return CCall((("n_input", op.weights_feature.shape[1]), ("n_filter", n_filter), ("n_memory", n_memory),
                  ("rank", op.rank), ("n_unit", n_filter // op.rank), ("input_offset", data.input_offset),
                  ("feature_multiplier", data.feature[0]), ("feature_left_shift", data.feature[1]),
                  ("feature_right_shift", data.feature[2]), ("time_multiplier", data.time[0]),
                  ("time_left_shift", data.time[1]), ("time_right_shift", data.time[2]),
                  ("state_zero_point", data.state_zero_point), ("output_zero_point", data.output_zero_point),
                  ("weights_feature", ctx.array("int8_t", "weights_feature", op.weights_feature)),
                  ("weights_time16", time if wide else 0), ("weights_time8", 0 if wide else time),
                  ("bias", ctx.array("int32_t", "bias", op.bias)),
                  ("state16", state if wide else 0), ("state8", 0 if wide else state)))
