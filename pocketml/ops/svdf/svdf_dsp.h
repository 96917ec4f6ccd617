/* SVDF for cores with the DSP extension (see pocketml_dsp.h): the body of svdf.h, where the kernel
 * is described, with its two sums done by the packed multiply-accumulates:
 *
 *   feature sum  sum_c w_f[f][c] * x[c] (two SMLAD per four int8 pairs, each word widened by
 *                SXTB16 into its even and odd int16 pairs) + feature_bias[f] = input_offset * row sum;
 *                every partial sum is at most 128 * sum |w_f| < 2^31 (the converter checks
 *                255 * sum |w_f| < 2^31), so the int32 total is the portable kernel's.
 *   unit sum     unit_bias[u] + sum over the unit's rank * n_memory time weights w * memory, where
 *                unit_bias = bias - z_s * (their sum): the same value modulo 2^32 as
 *                bias + sum w * (memory - z_s), the portable kernel's wrapping int32 sum. An int16
 *                memory: one SMLALD per two products into an int64 (a full-range memory reaches
 *                2^34, beyond SMLAD's int32), then its low 32 bits; an int8 memory: two SMLAD per
 *                four, whose partial sums stay below 2^31 (dsp.py keeps the portable kernel otherwise).
 *
 * The unit's filters are consecutive rows of the memory and of the time weights, so a unit's sum
 * is one dot product over rank * n_memory values. The memory's one-element slide copies words
 * (pocketml_svdf_dsp_slide) where the library's memmove, its source one element off the
 * destination's alignment, would copy bytes. Same weights as the portable kernel (built for speed
 * or size), same bits.
 */
#ifndef POCKETML_SVDF_DSP_H
#define POCKETML_SVDF_DSP_H

#include "pocketml_dsp.h"
#include "svdf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef pocketml_svdf_params pocketml_svdf_dsp_params;

/* Two int16 at p (any alignment: Armv7-M loads words unaligned) as one word. */
POCKETML_INLINE int32_t pocketml_svdf_read_s16x2(const int16_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* sum_k a[k] * b[k] over n int8, two SMLAD per word; the caller bounds the partial sums. */
POCKETML_INLINE int32_t pocketml_svdf_dsp_dot8(const int8_t *a, const int8_t *b, int32_t n) {
  int32_t acc = 0;
  int32_t k = 0;
  for (; k + 4 <= n; k += 4) {
    const int32_t av = pocketml_read_s8x4(a + k), bv = pocketml_read_s8x4(b + k);
    acc = __smlad(pocketml_sxtb16_ror8(av), pocketml_sxtb16_ror8(bv), __smlad(__sxtb16(av), __sxtb16(bv), acc));
  }
  for (; k < n; ++k) {
    acc += (int32_t)a[k] * b[k];
  }
  return acc;
}

/* Passed to the body by address, so plain static inline (always_inline cannot be). */
static inline int32_t pocketml_svdf_dsp_feature(const pocketml_svdf_params *p, const int8_t *input, int32_t f) {
  return pocketml_svdf_dsp_dot8(p->weights_feature + f * p->n_input, input, p->n_input) + p->feature_bias[f];
}

static inline uint32_t pocketml_svdf_dsp_unit16(const pocketml_svdf_params *p, int32_t u) {
  const int32_t n = p->rank * p->n_memory;
  const int16_t *w = p->weights_time16 + u * n, *s = p->state16 + u * n;
  int64_t acc = 0;
  int32_t k = 0;
  for (; k + 2 <= n; k += 2) {
    acc = __smlald(pocketml_svdf_read_s16x2(s + k), pocketml_svdf_read_s16x2(w + k), acc);
  }
  uint32_t sum = (uint32_t)p->unit_bias[u] + (uint32_t)(uint64_t)acc;
  if (k < n) {
    sum += (uint32_t)((int32_t)s[k] * w[k]);
  }
  return sum;
}

static inline uint32_t pocketml_svdf_dsp_unit8(const pocketml_svdf_params *p, int32_t u) {
  const int32_t n = p->rank * p->n_memory;
  return (uint32_t)p->unit_bias[u] + (uint32_t)pocketml_svdf_dsp_dot8(p->state8 + u * n, p->weights_time8 + u * n, n);
}

/* The memory's slide by words: a library memmove whose source and destination are not word-aligned
 * alike (one int16 or int8 apart, always here) copies byte by byte. Eight bytes are loaded before
 * they are stored (Armv7-M loads and stores words unaligned), and the destination is below the
 * source, so a forward copy reads every byte before it is overwritten; the tail byte by byte. */
static inline void pocketml_svdf_dsp_slide(void *memory, int32_t bytes, int32_t step) {
  uint8_t *d = (uint8_t *)memory;
  const uint8_t *s = d + step;
  const int32_t n = bytes - step;
  int32_t k = 0;
  for (; k + 8 <= n; k += 8) {
    int32_t a, b;
    memcpy(&a, s + k, 4);
    memcpy(&b, s + k + 4, 4);
    memcpy(d + k, &a, 4);
    memcpy(d + k + 4, &b, 4);
  }
  for (; k < n; ++k) {
    d[k] = s[k];
  }
}

/* wide (speed or size) changes nothing here: the weights stay as the portable kernel holds them. */
POCKETML_INLINE void pocketml_svdf_dsp_body(const pocketml_svdf_dsp_params *p, int32_t wide, const int8_t *input,
                                            int8_t *output) {
  (void)wide;
  pocketml_svdf_run(p, input, output, pocketml_svdf_dsp_feature,
                    p->state16 ? pocketml_svdf_dsp_unit16 : pocketml_svdf_dsp_unit8, pocketml_svdf_dsp_slide);
}

/* The out-of-line kernel (svdf_dsp.c): one copy for every layer, when built for size. */
void pocketml_svdf_dsp(const pocketml_svdf_dsp_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_SVDF_DSP_H */
