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

static inline int8_t pocketml_clamp_int8(int32_t v, int32_t lo, int32_t hi) {
  return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

#endif /* POCKETML_FIXEDPOINT_H */
