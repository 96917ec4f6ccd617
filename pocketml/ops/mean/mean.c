/* MEAN, int8 (the C twin of pocketml/ops/mean/op.py): the input read as [outer, count, channels]
 * (an H, W mean: outer 1, channels C), each of the outer x channels outputs the mean over count.
 *
 *   sum[c] = sum over (h, w) of x[h, w, c] - input_zero_point * count
 *   y[c]   = clamp(output_zero_point + sum[c] * M', -128, 127)     M' = (s_x / s_y) / count
 *
 * M' (multiplier, shifts) already holds 1/count, folded in by the converter as TFLite Micro does.
 * |sum| <= count * 255; the converter checked that it shifts left without overflow.
 * p->int16: int16 input and output (TFLite's 16x8 models), the same steps (|sum| <= count * 65535,
 * checked the same way), clamped to int16.
 */
#include "pocketml_fixedpoint.h"
#include "mean.h"

/* element i of a buffer of int8 (or int16, p->int16) values */
static int32_t mean_load(const pocketml_mean_params *p, const void *x, int32_t i) {
  return p->int16 ? (int32_t)((const int16_t *)x)[i] : (int32_t)((const int8_t *)x)[i];
}

void pocketml_mean(const pocketml_mean_params *p, const void *input, void *output) {
  const int32_t outer = p->outer > 0 ? p->outer : 1; /* 0: an H, W mean (one block) */
  const int32_t lo = p->int16 ? -32768 : -128, hi = p->int16 ? 32767 : 127;
  for (int32_t o = 0; o < outer; ++o) {
    const int32_t base = o * p->count * p->channels;
    for (int32_t c = 0; c < p->channels; ++c) {
      int32_t sum = 0;
      for (int32_t i = 0; i < p->count; ++i) {
        sum += mean_load(p, input, base + i * p->channels + c);
      }
      sum -= p->input_zero_point * p->count;
      sum = pocketml_multiply_by_quantized_multiplier(sum, p->multiplier, p->left_shift,
                                                      p->right_shift) + p->output_zero_point;
      sum = sum < lo ? lo : (sum > hi ? hi : sum);
      if (p->int16) {
        ((int16_t *)output)[o * p->channels + c] = (int16_t)sum;
      } else {
        ((int8_t *)output)[o * p->channels + c] = (int8_t)sum;
      }
    }
  }
}
