/* SVDF, int8 in and out, int16 or int8 memory (the C twin of pocketml/ops/svdf/op.py): the kernel's
 * parameters, its body (shared by the portable kernel, svdf.c, and the one for cores with the DSP
 * extension, svdf_dsp.h: only their dot products differ) and the portable entry.
 *
 *   memory rows slide one step left; the new column: wrap(z_s + clamp(sum w_f (x - z_x) * M1))
 *   t[f]   = sum_m w_t[f][m] * (memory[f][m] - z_s)
 *   y[u]   = clamp(z_y + (bias[u] + sum_r t[u*rank + r]) * M2, -128, 127)
 *
 * The time and unit sums are int32 modulo 2^32, as TFLite Micro's kernel on a two's-complement CPU
 * (computed in uint32: no undefined behaviour); the feature sum is bounded by the converter.
 * The memory lives in a static array of model.c that <prefix>_reset() fills with z_s.
 */
#ifndef POCKETML_SVDF_H
#define POCKETML_SVDF_H

#include <stdint.h>
#include <string.h>

#include "pocketml_fixedpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t n_input, n_filter, n_memory, rank, n_unit;
  int32_t input_offset;                    /* -input zero point */
  int32_t feature_multiplier, feature_left_shift, feature_right_shift;  /* M1 = s_x s_wf / s_state */
  int32_t time_multiplier, time_left_shift, time_right_shift;           /* M2 = s_state s_wt / s_y */
  int32_t state_zero_point, output_zero_point;
  const int8_t *weights_feature;           /* [n_filter][n_input] */
  const int16_t *weights_time16;           /* [n_filter][n_memory]: int16 memory (else NULL) */
  const int8_t *weights_time8;             /* [n_filter][n_memory]: int8 memory (else NULL) */
  const int32_t *bias;                     /* [n_unit] */
  int16_t *state16;                        /* [n_filter][n_memory], kept between calls (int16 memory) */
  int8_t *state8;                          /* the same, int8 memory */
  /* The DSP kernel's folded sums (svdf_dsp.h; NULL for the portable kernel): */
  const int32_t *feature_bias;             /* [n_filter] input_offset * sum_c w_f[f][c] */
  const int32_t *unit_bias;                /* [n_unit] bias[u] - z_s * (sum of unit u's time weights), mod 2^32 */
} pocketml_svdf_params;

/* What the portable and the DSP kernel do their own way: filter f's feature sum
 * sum_c w_f[f][c] * (x[c] - z_x) (int32, bounded), and unit u's sum bias[u] + sum_r t[u*rank + r]
 * modulo 2^32. */
typedef int32_t (*pocketml_svdf_feature_fn)(const pocketml_svdf_params *p, const int8_t *input, int32_t f);
typedef uint32_t (*pocketml_svdf_unit_fn)(const pocketml_svdf_params *p, int32_t u);
/* The memory's slide: its `bytes` bytes move `step` bytes (one element) toward the start. */
typedef void (*pocketml_svdf_slide_fn)(void *memory, int32_t bytes, int32_t step);

static inline void pocketml_svdf_memmove(void *memory, int32_t bytes, int32_t step) {
  memmove(memory, (const uint8_t *)memory + step, (size_t)(bytes - step));
}

/* uint32 bits as int32 (two's complement), without implementation-defined conversion. */
static inline int32_t pocketml_svdf_as_int32(uint32_t u) {
  return u <= (uint32_t)INT32_MAX ? (int32_t)u : (int32_t)(u - 2147483648u) - INT32_MAX - 1;
}

/* x * M with x << left_shift wrapping in int32, as TFLite Micro's MultiplyByQuantizedMultiplier. */
static inline int32_t pocketml_svdf_scale(int32_t x, int32_t multiplier, int32_t left_shift, int32_t right_shift) {
  const int32_t shifted = pocketml_svdf_as_int32((uint32_t)x << left_shift);
  return pocketml_rounding_divide_by_pot(pocketml_srdhm(shifted, multiplier), right_shift);
}

/* The memory slides one step left (the whole buffer by one element, as TFLite Micro: each row's
 * last element is then overwritten), and each row gets its new column: the feature sum scaled,
 * clamped to the memory's type, then z_s added with the store's wrap. */
static inline void pocketml_svdf_update(const pocketml_svdf_params *p, const int8_t *input,
                                        pocketml_svdf_feature_fn feature, pocketml_svdf_slide_fn slide) {
  const int32_t size = p->n_filter * p->n_memory;
  const int32_t lo = p->state16 ? -32768 : -128, hi = p->state16 ? 32767 : 127;
  if (p->state16) {
    slide(p->state16, size * 2, 2);
  } else {
    slide(p->state8, size, 1);
  }
  for (int32_t f = 0; f < p->n_filter; ++f) {
    int32_t v = pocketml_svdf_scale(feature(p, input, f), p->feature_multiplier, p->feature_left_shift,
                                    p->feature_right_shift);
    v = (v < lo ? lo : (v > hi ? hi : v)) + p->state_zero_point;
    const int32_t at = f * p->n_memory + p->n_memory - 1;
    if (p->state16) {
      p->state16[at] = (int16_t)((int32_t)((uint32_t)(v + 32768) & 0xFFFFu) - 32768);
    } else {
      p->state8[at] = (int8_t)((int32_t)((uint32_t)(v + 128) & 0xFFu) - 128);
    }
  }
}

/* The kernel (see the top of this file) with the feature sum `feature`, the unit sum `unit` and the
 * memory's slide `slide`. */
static inline void pocketml_svdf_run(const pocketml_svdf_params *p, const int8_t *input, int8_t *output,
                                     pocketml_svdf_feature_fn feature, pocketml_svdf_unit_fn unit,
                                     pocketml_svdf_slide_fn slide) {
  pocketml_svdf_update(p, input, feature, slide);
  for (int32_t u = 0; u < p->n_unit; ++u) {
    const int32_t scaled = pocketml_svdf_scale(pocketml_svdf_as_int32(unit(p, u)), p->time_multiplier,
                                               p->time_left_shift, p->time_right_shift);
    const int32_t y = pocketml_svdf_as_int32((uint32_t)scaled + (uint32_t)p->output_zero_point);  /* int32, as TFLM */
    output[u] = pocketml_clamp_int8(y, -128, 127);
  }
}

void pocketml_svdf(const pocketml_svdf_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_SVDF_H */
