"""CONCATENATION's C parameters (``pocketml_concatenation_params``); the inputs are passed as one
array literal of pointers."""

from __future__ import annotations

import numpy as np

from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    """int16 tensors (TFLite's 16x8 models) are copied as bytes: the depths count bytes, and each
    pointer (an int16_t model input or output among them) is cast to the kernel's int8_t."""
    wide = ctx.tensors[op.output].dtype == "int16"
    depths = ctx.array("int32_t", "depths", np.array(data.depths, np.int32) * (2 if wide else 1))
    inputs = ", ".join(f"(const int8_t *){ctx.where(name)}" if wide else ctx.where(name) for name in op.inputs)
    output = f"(int8_t *){ctx.where(op.output)}" if wide else ctx.where(op.output)
    return CCall((("n_inputs", len(data.depths)), ("outer", data.outer), ("depths", depths)),
                 args=(f"(const int8_t *const[]){{{inputs}}}", output))
