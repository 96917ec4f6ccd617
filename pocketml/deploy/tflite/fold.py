"""Constant sub-graphs of a ``.tflite`` computed once, at compile time (the reader's constant folding).

Converters leave shape arithmetic in models: ``SHAPE → STRIDED_SLICE → PACK → RESHAPE`` computes a
new shape that is the same on every run. An operator whose inputs are all constants (or, for SHAPE,
of a static shape) and whose output is an int32/int64 tensor is evaluated here in numpy; its output
becomes a constant that later operators read (the reshape's shape, a slice's bounds), and no op is
emitted for it. int8 arithmetic is never folded (its quantization would have to be reproduced).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from tflite.TensorType import TensorType

from pocketml.ops.tflite_read import TFLiteReader, Unsupported, options

FOLDED_TYPES = (TensorType.INT32, TensorType.INT64)


def _shape(r, op, ins, xs):
    return np.array(r.shape(ins[0]), dtype=np.int32)


def _strided_slice(r, op, ins, xs):
    from pocketml.ops.strided_slice.tflite import resolve

    x, begin, end, strides = xs
    o = options(op, "StridedSliceOptions")
    masks = [int(getattr(o, k)()) if o else 0 for k in ("BeginMask", "EndMask", "ShrinkAxisMask")]
    if o and (o.EllipsisMask() or o.NewAxisMask()):
        raise Unsupported("folding a STRIDED_SLICE with an ellipsis or new-axis mask")
    parts = resolve(x.shape, begin.ravel(), end.ravel(), strides.ravel(), *masks)
    out = x[tuple(slice(b, b + n * s if b + n * s >= 0 else None, s) for b, n, s in parts)]
    keep = [a for a in range(x.ndim) if not masks[2] >> a & 1]
    return out.reshape([out.shape[a] for a in keep])


def _slice(r, op, ins, xs):
    x, begin, size = xs
    return x[tuple(slice(int(b), x.shape[a] if int(n) == -1 else int(b) + int(n))
                   for a, (b, n) in enumerate(zip(begin.ravel(), size.ravel(), strict=True)))]


def _pack(r, op, ins, xs):
    o = options(op, "PackOptions")
    return np.stack(xs, axis=o.Axis() if o else 0)


def _concatenation(r, op, ins, xs):
    o = options(op, "ConcatenationOptions")
    return np.concatenate(xs, axis=o.Axis() if o else 0)


def _reshape(r, op, ins, xs):
    return xs[0]  # the same values; try_fold gives them the output tensor's shape


def _gather(r, op, ins, xs):
    o = options(op, "GatherOptions")
    return np.take(xs[0], xs[1], axis=o.Axis() if o else 0)


def _binary(fn):
    def fold(r, op, ins, xs):
        return fn(xs[0], xs[1])
    return fold


FOLDS: dict[str, Callable] = {
    "SHAPE": _shape,
    "STRIDED_SLICE": _strided_slice,
    "SLICE": _slice,
    "PACK": _pack,
    "CONCATENATION": _concatenation,
    "RESHAPE": _reshape,
    "SQUEEZE": _reshape,
    "EXPAND_DIMS": _reshape,
    "GATHER": _gather,
    "CAST": lambda r, op, ins, xs: xs[0],
    "ADD": _binary(np.add),
    "SUB": _binary(np.subtract),
    "MUL": _binary(np.multiply),
    "FLOOR_DIV": _binary(np.floor_divide),
}


def try_fold(r: TFLiteReader, op_name: str, op, ins: list[int], out: int) -> np.ndarray | None:
    """The operator's output as a constant, or None if it is not a constant sub-graph's."""
    fold = FOLDS.get(op_name)
    if fold is None or r.tensor(out).Type() not in FOLDED_TYPES:
        return None
    inputs = [i for i in ins if i >= 0]
    values = [None if op_name == "SHAPE" and k == 0 else r.constant(i) for k, i in enumerate(inputs)]
    if any(v is None for k, v in enumerate(values) if not (op_name == "SHAPE" and k == 0)):
        return None
    value = np.asarray(fold(r, op, inputs, values))
    want = r.shape(out)
    if want and int(np.prod(want)) == value.size:
        value = value.reshape(want)
    return value.astype(np.int64 if r.tensor(out).Type() == TensorType.INT64 else np.int32)
