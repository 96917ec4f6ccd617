/* TFLite Micro's int16 sigmoid and tanh by a 256-entry table (the C twin of pocketml/ops/sigmoid16.py,
 * where the arithmetic and its bounds are written out): the LSTM's gates and the int16 LOGISTIC and
 * TANH kernels. `table` is SIGMOID_Q16 (2^16 sigmoid(k / 24), measured from TFLite Micro), in flash;
 * (multiplier, shift) bring the int16 input onto it: v = (x * multiplier + round) >> shift. */
#ifndef POCKETML_SIGMOID16_H
#define POCKETML_SIGMOID16_H

#include <stdint.h>

/* (x * multiplier + round) >> shift; multiplier < 2^16 keeps it inside int32 (>> is arithmetic on
 * gcc/clang/armcc). */
static inline int32_t pocketml_sigmoid16_scaled(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t rounding = shift > 0 ? (int32_t)1 << (shift - 1) : 0;
  return (x * multiplier + rounding) >> shift;
}

/* Interpolated table value of a >= 0 with `bits` fractional bits below the index, times 2^bits. */
static inline int32_t pocketml_sigmoid16_lookup(const uint16_t *table, int32_t a, int32_t bits, int32_t saturated) {
  const int32_t k = a >> bits;
  if (k >= 255) {
    return saturated;
  }
  return ((int32_t)table[k] << bits) + (a & ((1 << bits) - 1)) * ((int32_t)table[k + 1] - (int32_t)table[k]);
}

/* sigmoid: Q0.15 out (multiplier 3, shift 0: a Q3.12 input). */
static inline int32_t pocketml_sigmoid16(const uint16_t *table, int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t v = pocketml_sigmoid16_scaled(x, multiplier, shift);
  const int32_t r = pocketml_sigmoid16_lookup(table, v < 0 ? -v : v, 9, 0x7FFF << 10);
  return (v >= 0 ? r + (1 << 9) : (1 << 25) - r + (1 << 9) - 1) >> 10;
}

/* tanh: Q0.15 out. */
static inline int32_t pocketml_tanh16(const uint16_t *table, int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t v = pocketml_sigmoid16_scaled(x, multiplier, shift);
  const int32_t r = pocketml_sigmoid16_lookup(table, v < 0 ? -v : v, 8, 0xFFFF << 8);
  return (v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1) >> 8;
}

#endif /* POCKETML_SIGMOID16_H */
