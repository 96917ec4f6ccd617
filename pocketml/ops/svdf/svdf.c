/* SVDF, int8 in and out, int16 or int8 memory (the C twin of pocketml/ops/svdf/op.py).
 *
 *   memory rows slide one step left; the new column: wrap(z_s + clamp(sum w_f (x - z_x) * M1))
 *   t[f]   = sum_m w_t[f][m] * (memory[f][m] - z_s)
 *   y[u]   = clamp(z_y + (bias[u] + sum_r t[u*rank + r]) * M2, -128, 127)
 *
 * The time and unit sums are int32 modulo 2^32, as TFLite Micro's kernel on a two's-complement CPU
 * (computed here in uint32: no undefined behaviour); the feature sum is bounded by the converter.
 * The memory lives in a static array of model.c that <prefix>_reset() fills with z_s.
 */
#include <string.h>

#include "pocketml_fixedpoint.h"
#include "svdf.h"

/* uint32 bits as int32 (two's complement), without implementation-defined conversion. */
static int32_t svdf_as_int32(uint32_t u) {
  return u <= (uint32_t)INT32_MAX ? (int32_t)u : (int32_t)(u - 2147483648u) - INT32_MAX - 1;
}

/* x * M with x << left_shift wrapping in int32, as TFLite Micro's MultiplyByQuantizedMultiplier. */
static int32_t svdf_scale(int32_t x, int32_t multiplier, int32_t left_shift, int32_t right_shift) {
  const int32_t shifted = svdf_as_int32((uint32_t)x << left_shift);
  return pocketml_rounding_divide_by_pot(pocketml_srdhm(shifted, multiplier), right_shift);
}

/* The new memory column, clamped to the memory's type, then z_s added with the store's wrap. */
static int32_t svdf_feature(const pocketml_svdf_params *p, const int8_t *input, int32_t f) {
  const int8_t *w = p->weights_feature + f * p->n_input;
  int32_t dot = 0;
  for (int32_t c = 0; c < p->n_input; ++c) {
    dot += (int32_t)w[c] * ((int32_t)input[c] + p->input_offset);
  }
  return svdf_scale(dot, p->feature_multiplier, p->feature_left_shift, p->feature_right_shift);
}

static void svdf_update16(const pocketml_svdf_params *p, const int8_t *input) {
  const int32_t size = p->n_filter * p->n_memory;
  memmove(p->state16, p->state16 + 1, (size_t)(size - 1) * sizeof(int16_t));
  for (int32_t f = 0; f < p->n_filter; ++f) {
    int32_t v = svdf_feature(p, input, f);
    v = (v < -32768 ? -32768 : (v > 32767 ? 32767 : v)) + p->state_zero_point;
    p->state16[f * p->n_memory + p->n_memory - 1] = (int16_t)(((uint32_t)(v + 32768) & 0xFFFFu) - 32768);
  }
}

static void svdf_update8(const pocketml_svdf_params *p, const int8_t *input) {
  const int32_t size = p->n_filter * p->n_memory;
  memmove(p->state8, p->state8 + 1, (size_t)(size - 1));
  for (int32_t f = 0; f < p->n_filter; ++f) {
    int32_t v = svdf_feature(p, input, f);
    v = (v < -128 ? -128 : (v > 127 ? 127 : v)) + p->state_zero_point;
    p->state8[f * p->n_memory + p->n_memory - 1] = (int8_t)((int32_t)((uint32_t)(v + 128) & 0xFFu) - 128);
  }
}

/* sum_m w_t[f][m] * (memory[f][m] - z_s), modulo 2^32: each product fits int32 (|w| <= 2^15,
 * |memory - z_s| < 2^16). */
static uint32_t svdf_time(const pocketml_svdf_params *p, int32_t f) {
  uint32_t t = 0;
  const int32_t at = f * p->n_memory;
  for (int32_t m = 0; m < p->n_memory; ++m) {
    const int32_t w = p->state16 ? p->weights_time16[at + m] : p->weights_time8[at + m];
    const int32_t s = (p->state16 ? p->state16[at + m] : p->state8[at + m]) - p->state_zero_point;
    t += (uint32_t)(w * s);
  }
  return t;
}

void pocketml_svdf(const pocketml_svdf_params *p, const int8_t *input, int8_t *output) {
  if (p->state16) {
    svdf_update16(p, input);
  } else {
    svdf_update8(p, input);
  }
  for (int32_t u = 0; u < p->n_unit; ++u) {
    uint32_t acc = (uint32_t)p->bias[u];
    for (int32_t r = 0; r < p->rank; ++r) {
      acc += svdf_time(p, u * p->rank + r);
    }
    const int32_t scaled = svdf_scale(svdf_as_int32(acc), p->time_multiplier, p->time_left_shift,
                                      p->time_right_shift);
    const int32_t y = svdf_as_int32((uint32_t)scaled + (uint32_t)p->output_zero_point);  /* int32, as TFLM */
    output[u] = pocketml_clamp_int8(y, -128, 127);
  }
}
