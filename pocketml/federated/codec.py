"""Update compression for the uplink: int8 deltas, top-k sparse deltas, both, with error feedback.

A client's update is the flat float32 vector ``delta = w_local - w_global`` over every floating
tensor of the model (keys in the global model's order). Before encoding, the client adds its
*residual* (what earlier encodings dropped) and keeps what this encoding drops for the next round,
so nothing is lost, only delayed (error feedback, Seide et al. 2014; Karimireddy et al. 2019).

    none       the full float32 weights (Flower's usual ArrayRecord; the baseline)
    int8       per tensor (per output channel for ≥2-D tensors) symmetric int8 of the delta,
               with float32 scales: ``pocketml.compress.quantize.quantize_weights``
    topk       the ``k = ceil(fraction · n)`` largest-magnitude entries: uint16/uint32 indices
               + float32 values
    int8-topk  top-k, then the kept values as int8 with one float32 scale

Normalization statistics (BatchNorm's ``running_mean`` / ``running_var``, named by
:data:`STATISTICS`) are not compressed: they travel dense, as float32 deltas appended to the
payload's float32 array, with no error feedback. They are estimates to be averaged, not gradient steps to be
delayed: a top-k residual re-sent rounds later on top of a fresh estimate overshoots, and pushed
``running_var`` below zero (the collapse of issue #17.6, ``docs/federated.md``). They are a few
hundred bytes of a model's tens of kilobytes.

The encoded update travels as one ArrayRecord of a few flat arrays (few Array objects, so Flower's
per-object headers stay small); ``decode`` turns it back into a dense delta and checks every field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pocketml.compress.quantize import quantize_weights
from pocketml.errors import PocketMLError

CODECS = ("none", "int8", "topk", "int8-topk")
STATISTICS = ("running_mean", "running_var")  # state_dict key endings of averaged statistics (sent dense)


class BadUpdate(ValueError):
    """An update that cannot be decoded or does not fit the global model (rejected, not averaged)."""


@dataclass(frozen=True)
class Layout:
    """Names and shapes of the model's floating tensors, in wire order."""

    keys: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, arrays: dict[str, np.ndarray]) -> Layout:
        return cls(tuple(arrays), tuple(tuple(a.shape) for a in arrays.values()))

    @property
    def size(self) -> int:
        return sum(math.prod(s) for s in self.shapes)

    def flatten(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([np.asarray(arrays[k], np.float32).ravel() for k in self.keys])

    def unflatten(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        out, start = {}, 0
        for key, shape in zip(self.keys, self.shapes, strict=True):
            n = math.prod(shape)
            out[key] = flat[start:start + n].reshape(shape).astype(np.float32)
            start += n
        return out

    @property
    def statistics(self) -> np.ndarray:
        """Boolean mask over the flat vector: True where a value is a normalization statistic."""
        return np.concatenate([np.full(math.prod(s), k.endswith(STATISTICS), bool)
                               for k, s in zip(self.keys, self.shapes, strict=True)] or [np.zeros(0, bool)])

    @property
    def learned(self) -> Layout:
        """The layout of the tensors the codecs compress (everything but the statistics)."""
        kept = [(k, s) for k, s in zip(self.keys, self.shapes, strict=True) if not k.endswith(STATISTICS)]
        return Layout(tuple(k for k, _ in kept), tuple(s for _, s in kept))


def check_codec(name: str, topk_fraction: float) -> None:
    """Fail fast on an unknown codec or a top-k fraction outside (0, 1]."""
    if name not in CODECS:
        raise PocketMLError(f"unknown compression '{name}'", f"use one of: {', '.join(CODECS)}")
    if "topk" in name and not 0 < topk_fraction <= 1:
        raise PocketMLError(f"top-k fraction {topk_fraction} is outside (0, 1]",
                            "pass a fraction such as 0.05 (keep the 5% largest entries)")


def encode(name: str, delta: np.ndarray, layout: Layout, topk_fraction: float) -> dict[str, np.ndarray]:
    """Encode a flat float32 delta; returns the arrays that go on the wire.

    The learned tensors are compressed by ``name``; the statistics (if any) are appended, dense, to
    the payload's float32 array (``val`` for topk, ``scales`` otherwise: no extra Array header).
    """
    stats = layout.statistics
    payload = _encode(name, delta[~stats], layout.learned, topk_fraction)
    if stats.any():
        key = _float_array(name)
        payload[key] = np.concatenate([payload[key], delta[stats].astype(np.float32)])
    return payload


def decode(name: str, payload: dict[str, np.ndarray], layout: Layout) -> np.ndarray:
    """Dense float32 delta from an encoded payload; raises BadUpdate on anything malformed."""
    stats = layout.statistics
    n_stats = int(stats.sum())
    dense = np.zeros(layout.size, np.float32)
    if n_stats:
        key = _float_array(name)
        if key not in payload:
            raise BadUpdate(f"{name} update lacks the array '{key}'")
        floats = payload[key]
        if floats.dtype != np.float32 or floats.ndim != 1 or len(floats) < n_stats:
            raise BadUpdate(f"'{key}' is {floats.dtype}{floats.shape}; it must end with the {n_stats} "
                            "float32 statistics")
        _finite(floats[-n_stats:])
        dense[stats] = floats[-n_stats:]
        payload = {**payload, key: floats[:-n_stats]}
    dense[~stats] = _decode(name, payload, layout.learned)
    return dense


def _float_array(name: str) -> str:
    """The float32 array of a codec's payload, which also carries the statistics."""
    return "val" if name == "topk" else "scales"


def _encode(name: str, delta: np.ndarray, layout: Layout, topk_fraction: float) -> dict[str, np.ndarray]:
    if name == "int8":
        qs, scales = [], []
        for part, shape in zip(_split(delta, layout), layout.shapes, strict=True):
            q, s = quantize_weights(part.reshape(_channels(shape)))
            qs.append(q.ravel())
            scales.append(s)
        return {"q": np.concatenate(qs), "scales": np.concatenate(scales).astype(np.float32)}
    k = max(1, math.ceil(topk_fraction * delta.size))
    idx = np.sort(np.argpartition(np.abs(delta), delta.size - k)[delta.size - k:])
    index_dtype = np.uint16 if delta.size <= 2**16 else np.uint32
    values = delta[idx].astype(np.float32)
    if name == "topk":
        return {"idx": idx.astype(index_dtype), "val": values}
    q, scale = quantize_weights(values.reshape(1, -1))
    return {"idx": idx.astype(index_dtype), "q": q.ravel(), "scales": scale}


def _decode(name: str, payload: dict[str, np.ndarray], layout: Layout) -> np.ndarray:
    n = layout.size
    try:
        if name == "int8":
            q, scales = payload["q"], payload["scales"]
            rows = [_channels(s)[0] for s in layout.shapes]
            if q.dtype != np.int8 or q.shape != (n,) or scales.shape != (sum(rows),):
                raise BadUpdate(f"int8 update has q {q.dtype}{q.shape}, scales {scales.shape}; "
                                f"expected int8({n},), ({sum(rows)},)")
            _finite(scales)
            cols = np.concatenate([np.full(r, math.prod(s) // r) for s, r in zip(layout.shapes, rows, strict=True)])
            per_value = np.repeat(scales, cols)
            return q.astype(np.float32) * per_value
        idx = payload["idx"]
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.unsignedinteger) or (idx.size and idx.max() >= n):
            raise BadUpdate(f"top-k indices {idx.dtype}{idx.shape} do not address a model of {n} values")
        if name == "topk":
            values = payload["val"]
        else:
            q, scales = payload["q"], payload["scales"]
            if q.dtype != np.int8 or scales.shape != (1,):
                raise BadUpdate(f"int8-topk update has q {q.dtype}, scales {scales.shape}")
            _finite(scales)
            values = q.astype(np.float32) * scales[0]
        if values.shape != idx.shape:
            raise BadUpdate(f"{values.shape[0]} values for {idx.shape[0]} indices")
        _finite(values)
        dense = np.zeros(n, np.float32)
        dense[idx.astype(np.int64)] = values
        return dense
    except KeyError as exc:
        raise BadUpdate(f"{name} update lacks the array {exc}") from None


def _finite(a: np.ndarray) -> None:
    if not np.isfinite(a).all():
        raise BadUpdate("update has NaN or infinite values")


def _channels(shape: tuple[int, ...]) -> tuple[int, int]:
    """2-D view for per-channel int8: ≥2-D tensors per output channel, 1-D tensors one scale."""
    n = math.prod(shape)
    return (shape[0], n // shape[0]) if len(shape) >= 2 else (1, n)


def _split(flat: np.ndarray, layout: Layout) -> list[np.ndarray]:
    cuts = np.cumsum([math.prod(s) for s in layout.shapes])[:-1]
    return np.split(flat, cuts)
