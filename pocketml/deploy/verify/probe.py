"""Inputs that tell models apart, and how much a comparison on them shows.

Uniform random int8 inputs are a poor test of a classifier: white noise over the whole int8 range
looks like nothing the model was trained on, and many models then give one constant answer to
every sample. Two runtimes that agree on 200 copies of one answer have shown little. ``probe``
inputs look more like real signals:

* each sample has a centre: the input zero point (the real value 0: silence, a black pixel, a
  zero feature) for half the samples, a level drawn uniformly over the type's range for the others;
* around it a **smooth** random field (Gaussian noise blurred along every axis longer than 3, with
  a width of a tenth of the axis: images and spectrograms are smooth, white noise is not) plus a
  little white noise (a fifth of the amplitude);
* a spread (standard deviation, in quantization steps) drawn log-uniformly between 4 and 64 per
  sample, so weak and strong signals are both seen; values are clipped to the type's range.

``distinct_outputs`` counts how many different outputs the samples produced (byte for byte, every
output packed); ``weak_evidence`` says when that is too few for agreement to mean much.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pocketml.graph.ir import DTYPES, RANGES, TensorInfo

INPUT_KINDS = ("probe", "uniform")
SPREAD_STEPS = (4.0, 64.0)  # standard deviation of a sample, int8 steps: log-uniform in this range
WHITE_FRACTION = 0.2


def probe_batch(info: TensorInfo, samples: int, rng: np.random.Generator) -> np.ndarray:
    """``samples`` probe inputs for one input tensor (its dtype, [N, *shape])."""
    from scipy.ndimage import gaussian_filter

    lo, hi = RANGES[info.dtype]
    steps = (hi - lo + 1) / 256  # SPREAD_STEPS are int8 steps: an int16 input spreads 256 times wider
    shape = tuple(info.shape)
    sigmas = (0.0, *(n / 10 if n > 3 else 0.0 for n in shape))
    field = gaussian_filter(rng.standard_normal((samples, *shape)), sigmas, mode="wrap")
    axes = tuple(range(1, field.ndim))
    field = (field - field.mean(axis=axes, keepdims=True)) / (field.std(axis=axes, keepdims=True) + 1e-12)
    field = field + WHITE_FRACTION * rng.standard_normal(field.shape)
    spread = np.exp(rng.uniform(*np.log(SPREAD_STEPS), samples)) * steps
    centre = np.where(rng.random(samples) < 0.5, info.quant.zero_point, rng.uniform(lo, hi, samples))
    x = centre.reshape(-1, *[1] * len(shape)) + spread.reshape(-1, *[1] * len(shape)) * field
    return np.clip(np.rint(x), lo, hi).astype(DTYPES[info.dtype])


def uniform_batch(info: TensorInfo, samples: int, rng: np.random.Generator) -> np.ndarray:
    """``samples`` uniform random inputs over the whole range of the input's type (int8, uint8, int16)."""
    lo, hi = RANGES[info.dtype]
    return rng.integers(lo, hi + 1, (samples, *info.shape), dtype=DTYPES[info.dtype])


def make_inputs(infos: Sequence[TensorInfo], samples: int, seed: int, kind: str = "probe") -> np.ndarray:
    """Inputs for every graph input (``kind`` probe or uniform), fixed ``seed``; several inputs are
    packed back to back as raw bytes ([N, input_bytes] int8)."""
    if kind not in INPUT_KINDS:
        raise ValueError(f"input kind {kind!r}: one of {INPUT_KINDS}")
    rng = np.random.default_rng(seed)
    batch = probe_batch if kind == "probe" else uniform_batch
    xs = [batch(info, samples, rng) for info in infos]
    return xs[0] if len(xs) == 1 else np.concatenate([x.reshape(samples, -1).view(np.int8) for x in xs], axis=1)


def distinct_outputs(outputs: np.ndarray) -> int:
    """How many different outputs (rows, byte for byte) ``outputs`` [N, ...] holds."""
    rows = np.ascontiguousarray(outputs).reshape(len(outputs), -1).view(np.uint8)
    return int(len(np.unique(rows, axis=0))) if len(rows) else 0


def weak_evidence(distinct: int, samples: int) -> bool:
    """Too few distinct outputs for agreement to tell models apart: fewer than 10 (or than a tenth of the
    samples when there are fewer than 100)."""
    return distinct < max(2, min(10, samples // 10))
