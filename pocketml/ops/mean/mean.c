/* MEAN, int8 (the C twin of pocketml/ops/mean/op.py): the input read as [outer, count, channels]
 * (an H, W mean: outer 1, channels C), each of the outer x channels outputs the mean over count.
 *
 *   sum[c] = sum over (h, w) of x[h, w, c] - input_zero_point * count
 *   y[c]   = clamp(output_zero_point + sum[c] * M', -128, 127)     M' = (s_x / s_y) / count
 *
 * M' (multiplier, shifts) already holds 1/count, folded in by the converter as TFLite Micro does.
 * |sum| <= count * 255; the converter checked that it shifts left without overflow.
 */
#include "pocketml_fixedpoint.h"
#include "mean.h"

void pocketml_mean(const pocketml_mean_params *p, const int8_t *input, int8_t *output) {
  const int32_t outer = p->outer > 0 ? p->outer : 1; /* 0: an H, W mean (one block) */
  for (int32_t o = 0; o < outer; ++o) {
    const int8_t *x = input + o * p->count * p->channels;
    for (int32_t c = 0; c < p->channels; ++c) {
      int32_t sum = 0;
      for (int32_t i = 0; i < p->count; ++i) {
        sum += x[i * p->channels + c];
      }
      sum -= p->input_zero_point * p->count;
      sum = pocketml_multiply_by_quantized_multiplier(sum, p->multiplier, p->left_shift,
                                                      p->right_shift);
      output[o * p->channels + c] = pocketml_clamp_int8(sum + p->output_zero_point, -128, 127);
    }
  }
}
