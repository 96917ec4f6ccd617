/* SVDF, portable: the body of svdf.h (where the kernel is described) with plain sums. */
#include "svdf.h"

static int32_t svdf_feature(const pocketml_svdf_params *p, const int8_t *input, int32_t f) {
  const int8_t *w = p->weights_feature + f * p->n_input;
  int32_t dot = 0;
  for (int32_t c = 0; c < p->n_input; ++c) {
    dot += (int32_t)w[c] * ((int32_t)input[c] + p->input_offset);
  }
  return dot;
}

/* bias[u] + sum over the unit's filters of sum_m w_t[f][m] * (memory[f][m] - z_s), modulo 2^32:
 * each product fits int32 (|w| <= 2^15, |memory - z_s| < 2^16). */
static uint32_t svdf_unit(const pocketml_svdf_params *p, int32_t u) {
  uint32_t acc = (uint32_t)p->bias[u];
  const int32_t at = u * p->rank * p->n_memory;
  for (int32_t m = 0; m < p->rank * p->n_memory; ++m) {
    const int32_t w = p->state16 ? p->weights_time16[at + m] : p->weights_time8[at + m];
    const int32_t s = (p->state16 ? p->state16[at + m] : p->state8[at + m]) - p->state_zero_point;
    acc += (uint32_t)(w * s);
  }
  return acc;
}

void pocketml_svdf(const pocketml_svdf_params *p, const int8_t *input, int8_t *output) {
  pocketml_svdf_run(p, input, output, svdf_feature, svdf_unit, pocketml_svdf_memmove);
}
