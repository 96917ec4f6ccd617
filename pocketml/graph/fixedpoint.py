"""Fixed-point arithmetic of the TFLite int8 specification, vectorised in numpy.

Every integer op in pocketml rescales its int32 accumulator into int8 the way TensorFlow Lite
Micro's reference kernels do, so that our numpy reference, our C and tflite-micro agree bit for
bit. The C twin of this file is ``deploy/c/runtime/fixedpoint.h``; the two read line for line.

A real multiplier ``M`` (for example ``s_in * s_w / s_out``) is stored as a 32-bit fixed-point
``multiplier`` in [2^30, 2^31) (a Q0.31 number in [0.5, 1)) and a power-of-two exponent:

    M = multiplier * 2^-31 * 2^left_shift * 2^-right_shift

Shifts are named by direction and are never negative, so no sign can flip silently: at most one
of ``left_shift`` and ``right_shift`` is non-zero for any multiplier.

Rounding (the part that must match exactly):
- ``saturating_rounding_doubling_high_mul(a, b)``: ``a*b / 2^31`` rounded to nearest with ties
  toward +infinity (the nudge is +2^30 for a non-negative product, 1 - 2^30 for a negative one,
  then C's truncating division); the one overflowing case ``a == b == INT32_MIN`` saturates to
  ``INT32_MAX``.
- ``rounding_divide_by_pot(x, e)``: ``x / 2^e`` rounded half away from zero.
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def quantize_multiplier(real: float) -> tuple[int, int, int]:
    """Split a positive real multiplier into (multiplier, left_shift, right_shift).

    Follows TFLite's ``QuantizeMultiplier``: ``real = q * 2^e`` with ``q`` in [0.5, 1) (frexp),
    ``multiplier = round(q * 2^31)`` rounded half away from zero; if rounding reaches 2^31 the
    fraction is halved and the exponent grows by one. Multipliers too small to represent
    (exponent < -31) become zero, as in TFLite.
    """
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"a requantization multiplier must be finite and >= 0, got {real!r}")
    if real == 0.0:
        return 0, 0, 0
    fraction, exponent = math.frexp(real)
    q_fixed = int(math.floor(fraction * (1 << 31) + 0.5))  # half away from zero (fraction > 0)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        exponent += 1
    if exponent < -31:
        return 0, 0, 0
    if exponent > 30:
        raise ValueError(f"requantization multiplier {real} is too large for int32 fixed point")
    return q_fixed, max(exponent, 0), max(-exponent, 0)


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a*b / 2^31`` rounded to nearest, ties toward +inf (gemmlowp's SRDHM), int32 in/out.

    Range: ``a`` and ``b`` are int32; the int64 product cannot overflow (|a*b| <= 2^62).
    """
    a64 = np.asarray(a, dtype=np.int64)
    b64 = np.asarray(b, dtype=np.int64)
    overflow = (a64 == INT32_MIN) & (b64 == INT32_MIN)
    ab = a64 * b64
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    total = ab + nudge
    # C's integer division truncates toward zero; numpy's >> floors, so divide magnitudes.
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))
    return np.where(overflow, INT32_MAX, high).astype(np.int32)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray | int) -> np.ndarray:
    """``x / 2^exponent`` rounded half away from zero; int32 ``x``, ``exponent`` in [0, 31]."""
    x32 = np.asarray(x, dtype=np.int32)
    e = np.asarray(exponent, dtype=np.int32)
    if np.any((e < 0) | (e > 31)):
        raise ValueError("rounding_divide_by_pot needs an exponent in [0, 31]")
    mask = ((np.int64(1) << e.astype(np.int64)) - 1).astype(np.int64)
    x64 = x32.astype(np.int64)
    remainder = x64 & mask
    threshold = (mask >> 1) + (x64 < 0)
    return ((x64 >> e) + (remainder > threshold)).astype(np.int32)


def multiply_by_quantized_multiplier(
    x: np.ndarray, multiplier: np.ndarray, left_shift: np.ndarray, right_shift: np.ndarray
) -> np.ndarray:
    """``x * M`` for ``M`` as stored by :func:`quantize_multiplier` (TFLite's double rounding).

    ``x << left_shift`` must fit in int32: converters check this bound (see
    :func:`check_left_shift_bound`) so the shift can never overflow here or in C.
    """
    x64 = np.asarray(x, dtype=np.int64) << np.asarray(left_shift, dtype=np.int64)
    if np.any((x64 < INT32_MIN) | (x64 > INT32_MAX)):
        raise OverflowError("accumulator << left_shift overflowed int32; the converter bound failed")
    high = saturating_rounding_doubling_high_mul(x64.astype(np.int32), multiplier)
    return rounding_divide_by_pot(high, right_shift)


def check_left_shift_bound(max_abs_accumulator: int, left_shift: np.ndarray) -> None:
    """Refuse a requantization whose left shift could overflow int32 for the worst accumulator."""
    worst = int(max_abs_accumulator) << int(np.max(left_shift, initial=0))
    if worst > INT32_MAX:
        raise OverflowError(
            f"worst-case accumulator {max_abs_accumulator} shifted left by "
            f"{int(np.max(left_shift))} exceeds int32; the layer's output scale is too small"
        )


def quantize_multipliers(reals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vector form of :func:`quantize_multiplier` (one entry per output channel)."""
    parts = [quantize_multiplier(float(r)) for r in np.asarray(reals, dtype=np.float64).ravel()]
    mult = np.array([p[0] for p in parts], dtype=np.int32)
    left = np.array([p[1] for p in parts], dtype=np.int32)
    right = np.array([p[2] for p in parts], dtype=np.int32)
    return mult, left, right
