"""SVDF's parameters for cores with the DSP extension (svdf_dsp.h): the portable kernel's own plus
the two folded sums its packed dot products need, ``feature_bias`` (the input zero point times each
feature row's sum) and ``unit_bias`` (each bias minus the memory zero point times its unit's time
weight sum, modulo 2^32: the portable kernel's wrapping sum, rearranged). An int8 memory whose
unit sums could leave int32 inside SMLAD keeps the portable kernel."""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall
from pocketml.ops.svdf.c import c_params
from pocketml.ops.svdf.op import wrap

INT8_PRODUCT = 128 * 128  # the largest |w_t * memory| of an int8 memory


def dsp_params(op, data, ctx, wide: bool) -> CCall | None:
    n_filter, n_memory = op.state_shape
    per_unit = op.rank * n_memory
    if op.state_dtype == "int8" and per_unit * INT8_PRODUCT >= 2**31:
        return None
    feature_bias = data.input_offset * op.weights_feature.astype(np.int64).sum(axis=1)  # |.| < 2^31 (prepare)
    time_sums = op.weights_time.astype(np.int64).reshape(len(op.bias), per_unit).sum(axis=1)
    unit_bias = wrap(op.bias.astype(np.int64) - data.state_zero_point * time_sums, 32)
    base = c_params(op, data, ctx)
    return CCall((*base.fields, ("feature_bias", ctx.array("int32_t", "feature_bias", feature_bias.astype(np.int32))),
                  ("unit_bias", ctx.array("int32_t", "unit_bias", unit_bias.astype(np.int32)))))
