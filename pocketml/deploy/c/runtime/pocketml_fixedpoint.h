/* pocketml fixed-point helpers: the C twin of pocketml/graph/fixedpoint.py.
 *
 * A real multiplier M is stored as a Q0.31 `multiplier` in [2^30, 2^31) and two shifts named by
 * direction (never negative, at most one non-zero):
 *     M = multiplier * 2^-31 * 2^left_shift * 2^-right_shift
 * The rounding is TFLite's: a doubling high-half multiply rounded to nearest (ties toward +inf),
 * then a divide by a power of two rounded to nearest (ties away from zero).
 */
#ifndef POCKETML_FIXEDPOINT_H
#define POCKETML_FIXEDPOINT_H

#include <stdint.h>

/* a*b / 2^31 rounded to nearest, ties toward +inf; the one overflow (a == b == INT32_MIN)
 * saturates. */
static inline int32_t pocketml_srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) {
    return INT32_MAX;
  }
  const int64_t ab = (int64_t)a * (int64_t)b;        /* |ab| <= 2^62: no overflow */
  const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C division truncates toward zero */
}

/* x / 2^exponent rounded half away from zero; exponent in [0, 31]. */
static inline int32_t pocketml_rounding_divide_by_pot(int32_t x, int32_t exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0); /* >> is arithmetic on gcc/clang/armcc */
}

/* x * M. The converter checked that x << left_shift fits in int32 for every reachable x. */
static inline int32_t pocketml_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier,
                                                               int32_t left_shift,
                                                               int32_t right_shift) {
  return pocketml_rounding_divide_by_pot(
      pocketml_srdhm(x * ((int32_t)1 << left_shift), multiplier), right_shift);
}

/* x * M for an int64 accumulator (TFLite's 16x8 kernels, twin of fixedpoint.py's
 * multiply_by_quantized_multiplier_int64): the multiplier rounded to Q0.15, one rounding shift by
 * 15 - shift (shift = left_shift - right_shift in [-31, 7]); |x| < 2^47 keeps the product in int64.
 * The int32 result is truncated as TFLite Micro does (the converter keeps it in range). */
static inline int32_t pocketml_multiply_by_quantized_multiplier_int64(int64_t x, int32_t multiplier,
                                                                     int32_t shift) {
  const int64_t reduced = multiplier < 0x7FFF0000 ? (((int64_t)multiplier + (1 << 15)) >> 16) : 0x7FFF;
  const int32_t total = 15 - shift;
  return (int32_t)((x * reduced + ((int64_t)1 << (total - 1))) >> total); /* arithmetic >> (gcc, clang) */
}

static inline int16_t pocketml_clamp_int16(int32_t v, int32_t lo, int32_t hi) {
  return (int16_t)(v < lo ? lo : (v > hi ? hi : v));
}

static inline int8_t pocketml_clamp_int8(int32_t v, int32_t lo, int32_t hi) {
  return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* ---- gemmlowp's fixed-point functions used by SOFTMAX (twins of graph/fixedpoint.py) ----
 * A Q<I>.<31-I> value holds real r as round(r * 2^(31-I)); pocketml_srdhm multiplies two. */

/* x * 2^exponent: saturating for exponent > 0, rounding (half away from zero) for < 0. */
static inline int32_t pocketml_srmbp(int32_t x, int32_t exponent) {
  if (exponent < 0) {
    return pocketml_rounding_divide_by_pot(x, -exponent);
  }
  if (exponent == 0) {
    return x;
  }
  {
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
      return INT32_MAX;
    }
    if (x < -threshold) {
      return INT32_MIN;
    }
    return x * ((int32_t)1 << exponent);
  }
}

/* exp(a) for a Q0.31 a in [-1/4, 0): Taylor series to x^4 around -1/8; Q0.31 result. */
static inline int32_t pocketml_exp_on_interval_minus_quarter_to_0(int32_t a) {
  const int32_t constant_term = 1895147668;    /* exp(-1/8) */
  const int32_t constant_1_over_3 = 715827883; /* 1/3 */
  const int32_t x = a + ((int32_t)1 << 28);    /* a + 1/8 */
  const int32_t x2 = pocketml_srdhm(x, x);
  const int32_t x3 = pocketml_srdhm(x2, x);
  const int32_t x4 = pocketml_srdhm(x2, x2);
  const int32_t x4_over_4 = pocketml_srmbp(x4, -2);
  const int32_t poly =
      pocketml_srmbp(pocketml_srdhm(x4_over_4 + x3, constant_1_over_3) + x2, -1);
  return constant_term + pocketml_srdhm(constant_term, x + poly);
}

/* exp(a) for a Q5.26 a <= 0 (gemmlowp exp_on_negative_values<int32, 5>); Q0.31 result. The
 * multiple of 1/4 in a goes through a barrel shifter of exp(-2^k), the rest through the series. */
static inline int32_t pocketml_exp_on_negative_values_q5(int32_t a) {
  static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308,
                                    39332535,   720401,     242}; /* exp(-2^k), k = -2..4 */
  const int32_t one_quarter = (int32_t)1 << 24;
  const int32_t a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter;
  int32_t result = pocketml_exp_on_interval_minus_quarter_to_0(
      pocketml_srmbp(a_mod_quarter_minus_one_quarter, 5)); /* Q5.26 -> Q0.31 */
  const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
  int32_t k;
  for (k = 0; k < 7; ++k) {
    if (remainder & ((int32_t)1 << (24 + k))) {
      result = pocketml_srdhm(result, barrel[k]);
    }
  }
  return a == 0 ? INT32_MAX : result;
}

/* (a + b) / 2 rounded half away from zero. */
static inline int32_t pocketml_rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + (int64_t)b;
  return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* 1 / (1 + a) for a Q0.31 a in [0, 1): Newton-Raphson in Q2.29; Q0.31 result. */
static inline int32_t pocketml_one_over_one_plus_x(int32_t a) {
  const int32_t half_denominator = pocketml_rounding_half_sum(a, INT32_MAX);
  const int32_t constant_48_over_17 = 1515870810;      /* Q2.29 */
  const int32_t constant_neg_32_over_17 = -1010580540; /* Q2.29 */
  int32_t x = constant_48_over_17 + pocketml_srdhm(half_denominator, constant_neg_32_over_17);
  int32_t i;
  for (i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = pocketml_srdhm(half_denominator, x);
    const int32_t one_minus = ((int32_t)1 << 29) - half_denominator_times_x;
    x = x + pocketml_srmbp(pocketml_srdhm(x, one_minus), 2);
  }
  return pocketml_srmbp(x, 1); /* x / 2 in Q1.30, rescaled to Q0.31 */
}

static inline int32_t pocketml_count_leading_zeros_u32(uint32_t x) {
  int32_t n = 0;
  if (x == 0) {
    return 32;
  }
  while ((x & 0x80000000u) == 0) {
    x <<= 1;
    ++n;
  }
  return n;
}

/* 1/x for a positive Q<digits> x: returns a Q0.31 scale with 1/x = scale * 2^-num_bits_over_unit. */
static inline int32_t pocketml_get_reciprocal(int32_t x, int32_t x_integer_digits,
                                              int32_t *num_bits_over_unit) {
  const int32_t headroom_plus_one = pocketml_count_leading_zeros_u32((uint32_t)x);
  const uint32_t shifted = ((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31);
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  return pocketml_one_over_one_plus_x((int32_t)shifted);
}

#endif /* POCKETML_FIXEDPOINT_H */
