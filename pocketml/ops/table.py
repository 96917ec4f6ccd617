"""Element-wise int8 ops as a 256-entry table (LOGISTIC, TANH, HARD_SWISH, QUANTIZE int8 → int8).

An int8 input takes 256 values, so ``prepare`` runs TFLite Micro's integer arithmetic (written in
each op's ``op.py``) once on every one of them and keeps the results; ``evaluate`` and the C kernel
look the output up. The table is bit-exact with TFLite Micro by construction (it *is* TFLite
Micro's arithmetic, run ahead of time), costs 256 bytes of flash per layer and one load per
element at run time: cheaper on a Cortex-M than the fixed-point exp/reciprocal it replaces.

    q_y = table[q_x + 128]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pocketml.ops.c import CCall, CContext

INPUTS = np.arange(-128, 128, dtype=np.int32)  # every int8 value, in table order


def build(arithmetic: Callable[[np.ndarray], np.ndarray]) -> tuple[int, ...]:
    """The table of ``arithmetic`` (int32 inputs −128..127 → int32 outputs already clamped to int8)."""
    out = np.asarray(arithmetic(INPUTS), dtype=np.int64)
    if out.shape != (256,) or out.min() < -128 or out.max() > 127:
        raise AssertionError("a table op's arithmetic must return 256 int8 values")
    return tuple(int(v) for v in out)


def lookup(table: tuple[int, ...], x: np.ndarray) -> np.ndarray:
    """``table[x + 128]`` for an int8 batch ``x``."""
    return np.asarray(table, dtype=np.int8)[x.astype(np.int16) + 128]


def c_params(op, data, ctx: CContext) -> CCall:
    """The params of every table kernel: ``{size, table}`` (the table in flash)."""
    return CCall((("size", ctx.tensors[op.output].nbytes), ("table", ctx.array("int8_t", "table", data.table))))
