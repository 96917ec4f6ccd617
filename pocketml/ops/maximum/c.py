"""MAXIMUM's C parameters (``pocketml_maximum_params``)."""

from __future__ import annotations

from pocketml.ops import broadcast
from pocketml.ops.c import CCall, CContext


def c_params(op, data, ctx: CContext) -> CCall:
    return CCall((("broadcast", broadcast.c_geometry(data.geometry)),), broadcast.c_args(op, ctx))
