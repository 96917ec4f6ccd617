/* RELU, int8, with rescaling (the C twin of pocketml/ops/relu/op.py).
 *
 *   y = clamp(output_zero_point + (x - input_zero_point) * M, act_min, 127)    M = s_x / s_y
 *
 * |x - input_zero_point| <= 255; the converter checked the left shift keeps it in int32.
 * Element-wise: output may be input.
 */
#include "pocketml_fixedpoint.h"
#include "relu.h"

void pocketml_relu(const pocketml_relu_params *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = pocketml_multiply_by_quantized_multiplier(
        (int32_t)input[i] - p->input_zero_point, p->multiplier, p->left_shift, p->right_shift);
    output[i] = pocketml_clamp_int8(v + p->output_zero_point, p->act_min, p->act_max);
  }
}
