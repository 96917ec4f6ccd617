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


def multiply_by_quantized_multiplier_int64(x: np.ndarray, multiplier: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``x * M`` for an int64 accumulator (TFLite's 16x8 kernels): int32 result, single rounding.

    TFLite's ``MultiplyByQuantizedMultiplier(int64_t, ...)``: the Q0.31 multiplier is first rounded to
    Q0.15 (``(multiplier + 2^15) >> 16``, or 0x7FFF from 0x7FFF0000 up), then
    ``(x · reduced + 2^(14 - shift)) >> (15 - shift)`` (an arithmetic shift: ties toward +inf), with
    ``shift = left_shift - right_shift`` in [-31, 7] and ``|x| < 2^47`` (so the product stays below
    2^62). The result is truncated to int32 as C does (it wraps; converters keep it in range).
    """
    x64 = np.asarray(x, dtype=np.int64)
    m = np.asarray(multiplier, dtype=np.int64)
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
    total = 15 - np.asarray(shift, dtype=np.int64)
    rounding = np.left_shift(np.int64(1), total - 1)
    return ((x64 * reduced + rounding) >> total).astype(np.int32)


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


# -- gemmlowp's fixed-point transcendental functions (used by SOFTMAX) ---------------------------
# A FixedPoint<int32, I> holds a real r as the raw int32 round(r * 2^(31 - I)); multiplying two of
# them is saturating_rounding_doubling_high_mul on the raws (the integer bits add up). These are
# the functions TFLite Micro's int8 softmax calls, written out on raw int32 values; the constants
# are gemmlowp's (Q0.31 unless noted) and each function states its input range.

def saturating_rounding_multiply_by_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    """``x * 2^exponent``: a saturating left shift for exponent > 0, a rounding divide for < 0."""
    x = np.asarray(x, dtype=np.int32)
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    x64 = x.astype(np.int64)
    shifted = x64 << exponent
    shifted = np.where(x64 > threshold, INT32_MAX, np.where(x64 < -threshold, INT32_MIN, shifted))
    return shifted.astype(np.int32)


def _add32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """int32 + int32 where the caller's range argument guarantees no overflow (checked here)."""
    s = np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)
    if np.any((s < INT32_MIN) | (s > INT32_MAX)):
        raise OverflowError("fixed-point addition left int32: a range assumption failed")
    return s.astype(np.int32)


_SRDHM = saturating_rounding_doubling_high_mul


def exp_on_interval_between_negative_one_quarter_and_0_excl(a: np.ndarray) -> np.ndarray:
    """exp(a) for a Q0.31 ``a`` in [-1/4, 0): Taylor series to x^4 around -1/8; Q0.31 out."""
    constant_term = np.int32(1895147668)  # exp(-1/8)
    constant_1_over_3 = np.int32(715827883)
    x = _add32(a, 1 << 28)  # a + 1/8
    x2 = _SRDHM(x, x)
    x3 = _SRDHM(x2, x)
    x4 = _SRDHM(x2, x2)
    x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2)
    poly = saturating_rounding_multiply_by_pot(
        _add32(_SRDHM(_add32(x4_over_4, x3), constant_1_over_3), x2), -1)
    return _add32(constant_term, _SRDHM(constant_term, _add32(x, poly)))


# exp(-2^k) in Q0.31 for k = -2 .. 4 (gemmlowp's barrel shifter)
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """exp(a) for a Q(integer_bits).(31 - integer_bits) ``a`` <= 0 (gemmlowp ``exp_on_negative_values``); Q0.31 out.

    ``a`` is split into a multiple of 1/4 and a remainder in [-1/4, 0); the remainder goes through
    the Taylor series, each set bit of the multiple multiplies by exp(-2^k) (only the k the integer
    bits can hold); below -32 the result is 0 (more than 5 integer bits only).
    """
    a = np.asarray(a, dtype=np.int32)
    fractional_bits = 31 - integer_bits
    one_quarter = np.int32(1 << (fractional_bits - 2))
    a_mod_quarter_minus_one_quarter = ((a & (one_quarter - 1)) - one_quarter).astype(np.int32)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, integer_bits))  # Rescale<0>
    remainder = (a_mod_quarter_minus_one_quarter.astype(np.int64) - a).astype(np.int32)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = (remainder & np.int32(1 << (fractional_bits + exponent))) != 0
            result = np.where(bit, _SRDHM(result, np.int32(multiplier)), result).astype(np.int32)
    if integer_bits > 5:
        result = np.where(a < -(1 << (36 - integer_bits)), np.int32(0), result).astype(np.int32)
    return np.where(a == 0, np.int32(INT32_MAX), result).astype(np.int32)


def exp_on_negative_values_q5(a: np.ndarray) -> np.ndarray:
    """exp(a) for a Q5.26 ``a`` <= 0 (what SOFTMAX uses); Q0.31 out."""
    return exp_on_negative_values(a, 5)


def rounding_half_sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a + b) / 2 rounded half away from zero (C division of sum ± 1 by 2)."""
    s = np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)
    s = s + np.where(s >= 0, 1, -1)
    return np.where(s >= 0, s // 2, -((-s) // 2)).astype(np.int32)


def _newton_reciprocal_of_half_sum(a: np.ndarray) -> np.ndarray:
    """Q2.29 1/((1 + a)/2) for a Q0.31 ``a`` in [0, 1): three Newton-Raphson steps (48/17, -32/17 start)."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    constant_48_over_17 = np.int32(1515870810)  # Q2.29
    constant_neg_32_over_17 = np.int32(-1010580540)  # Q2.29
    one_q2 = np.int32(1 << 29)
    x = _add32(constant_48_over_17, _SRDHM(half_denominator, constant_neg_32_over_17))
    for _ in range(3):
        half_denominator_times_x = _SRDHM(half_denominator, x)
        one_minus = _add32(one_q2, -half_denominator_times_x.astype(np.int64))
        x = _add32(x, saturating_rounding_multiply_by_pot(_SRDHM(x, one_minus), 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a: np.ndarray) -> np.ndarray:
    """1 / (1 + a) for a Q0.31 ``a`` in [0, 1); Q0.31 out."""
    x = _newton_reciprocal_of_half_sum(a)
    return saturating_rounding_multiply_by_pot(x, 1)  # x/2 in Q1.30, rescaled to Q0.31


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: np.ndarray) -> np.ndarray:
    """(1 - a) / (1 + a) for a Q0.31 ``a`` in [0, 1); Q0.31 out (gemmlowp, for tanh)."""
    x = _newton_reciprocal_of_half_sum(a)
    return saturating_rounding_multiply_by_pot(_add32(x, -(1 << 29)), 2)  # x - 1 in Q2.29 -> Q0.31


def logistic(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """gemmlowp's ``logistic`` of a Q(integer_bits) ``a``: 1 / (1 + exp(-|a|)), mirrored below 0; Q0.31 out."""
    a = np.asarray(a, dtype=np.int32)
    positive, zero = a > 0, a == 0
    minus_abs = np.where(positive, -a.astype(np.int64), a).astype(np.int32)  # -|a|, |a| < 2^31 here
    if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(minus_abs, integer_bits))
    if_negative = (np.int64(INT32_MAX) - if_positive).astype(np.int32)
    return np.where(zero, np.int32(1 << 30), np.where(positive, if_positive, if_negative)).astype(np.int32)


def tanh(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """gemmlowp's ``tanh`` of a Q(integer_bits) ``a``: (1 - exp(-2|a|)) / (1 + exp(-2|a|)), odd; Q0.31 out."""
    a = np.asarray(a, dtype=np.int32)
    negative, zero = a < 0, a == 0
    minus_abs = np.where(negative, a, -a.astype(np.int64)).astype(np.int32)
    # ExactMulByPot<1>: the same raw value read with one more integer bit is 2·(-|a|)
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(minus_abs, integer_bits + 1))
    return np.where(zero, np.int32(0), np.where(negative, -t.astype(np.int64), t)).astype(np.int32)


def count_leading_zeros_u32(x: np.ndarray) -> np.ndarray:
    """Leading zero bits of ``x`` read as uint32 (32 for 0)."""
    u = np.asarray(x, dtype=np.int64) & 0xFFFFFFFF
    out = np.full(u.shape, 32, dtype=np.int32)
    nz = u > 0
    out[nz] = 31 - np.floor(np.log2(u[nz].astype(np.float64))).astype(np.int32)
    # log2 of a float64 is exact enough below 2^53 except right under a power of two: fix up
    over = nz & ((u >> (31 - out).astype(np.int64)) == 0)
    out[over] += 1
    return out


def get_reciprocal(x: np.ndarray, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's ``GetReciprocal``: 1/x for a positive Q(digits).(31-digits) ``x``.

    Returns (Q0.31 scale in [0.5, 1], num_bits_over_unit): 1/x = scale * 2^-num_bits_over_unit.
    """
    x = np.asarray(x, dtype=np.int32)
    headroom_plus_one = count_leading_zeros_u32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted = ((x.astype(np.int64) & 0xFFFFFFFF) << headroom_plus_one.astype(np.int64)) & 0xFFFFFFFF
    shifted_sum_minus_one = ((shifted - (1 << 31)) & 0xFFFFFFFF)
    shifted_sum_minus_one = np.where(shifted_sum_minus_one >= 1 << 31, shifted_sum_minus_one - (1 << 32),
                                     shifted_sum_minus_one).astype(np.int32)
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit
