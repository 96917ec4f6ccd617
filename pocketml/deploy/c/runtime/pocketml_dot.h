/* pocketml_dot.h: the block size and int8 dot product of the weighted kernels.
 *
 *   dot(x, w, n) = sum over i < n of x[i] * w[i]      (int8 * int8, summed in int32)
 *
 * Loops over POCKETML_DOT_BLOCK elements have a fixed trip count: compilers vectorise them at
 * -O2 (gcc >= 12 on SSE2/NEON), where an open-ended loop needs -O3; elsewhere they are ordinary
 * loops. CONV_2D and DEPTHWISE_CONV_2D keep that many output channels side by side;
 * FULLY_CONNECTED sums its dot products block by block. Integer addition is exact and
 * associative, so the order changes no bit.
 * Overflow: |x[i] * w[i]| <= 128 * 127; callers keep every partial sum inside int32 (see
 * pocketml/ops/c.py: folded_bias).
 */
#ifndef POCKETML_DOT_H
#define POCKETML_DOT_H

#include <stdint.h>

#define POCKETML_DOT_BLOCK 16

static inline int32_t pocketml_dot_int8(const int8_t *x, const int8_t *w, int32_t n) {
  int32_t acc = 0;
  int32_t i = 0;
  for (; i + POCKETML_DOT_BLOCK <= n; i += POCKETML_DOT_BLOCK) {
    int32_t block = 0;
    for (int32_t j = 0; j < POCKETML_DOT_BLOCK; ++j) {
      block += (int32_t)x[i + j] * (int32_t)w[i + j];
    }
    acc += block;
  }
  for (; i < n; ++i) {
    acc += (int32_t)x[i] * (int32_t)w[i];
  }
  return acc;
}

#endif /* POCKETML_DOT_H */
