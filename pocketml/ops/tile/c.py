"""TILE's C parameters: the output's and input's shapes and the input's strides."""

from __future__ import annotations

from pocketml.ops.c import CCall, CContext
from pocketml.ops.gather import c_array


def c_params(op, data, ctx: CContext) -> CCall:
    return CCall((("dims", c_array(data.dims)), ("in_dims", c_array(data.in_dims)),
                  ("in_strides", c_array(data.in_strides))))
