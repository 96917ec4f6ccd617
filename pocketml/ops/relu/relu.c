/* RELU, int8, with rescaling (the C twin of pocketml/ops/relu/op.py).
 *
 *   y = clamp(output_zero_point + (x - input_zero_point) * M, act_min, 127)    M = s_x / s_y
 *
 * |x - input_zero_point| <= 255; the converter checked the left shift keeps it in int32.
 * p->int16: int16 input and output (TFLite's 16x8 models, zero points 0, |x| <= 32768 checked the
 * same way), each element read and written by its type. Element-wise: output may be input.
 */
#include "pocketml_fixedpoint.h"
#include "relu.h"

static int32_t relu_one(const pocketml_relu_params *p, int32_t x) {
  const int32_t v = pocketml_multiply_by_quantized_multiplier(x - p->input_zero_point, p->multiplier,
                                                              p->left_shift, p->right_shift) +
                    p->output_zero_point;
  return v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
}

void pocketml_relu(const pocketml_relu_params *p, const void *input, void *output) {
  if (p->int16) {
    const int16_t *x = (const int16_t *)input;
    int16_t *y = (int16_t *)output;
    for (int32_t i = 0; i < p->size; ++i) {
      y[i] = (int16_t)relu_one(p, x[i]);
    }
    return;
  }
  {
    const int8_t *x = (const int8_t *)input;
    int8_t *y = (int8_t *)output;
    for (int32_t i = 0; i < p->size; ++i) {
      y[i] = (int8_t)relu_one(p, x[i]);
    }
  }
}
