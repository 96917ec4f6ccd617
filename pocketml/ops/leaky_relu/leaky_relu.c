/* LEAKY_RELU, int8, with rescaling (the C twin of pocketml/ops/leaky_relu/op.py).
 *
 *   v = x - input_zero_point
 *   y = clamp(output_zero_point + v * (v >= 0 ? M_identity : M_alpha), -128, 127)
 *
 * |v| <= 255; the converter checked both left shifts keep v in int32.
 * Element-wise: output may be input.
 */
#include "pocketml_fixedpoint.h"
#include "leaky_relu.h"

void pocketml_leaky_relu(const pocketml_leaky_relu_params *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = (int32_t)input[i] - p->input_zero_point;
    const int32_t scaled =
        v >= 0 ? pocketml_multiply_by_quantized_multiplier(v, p->identity_multiplier, p->identity_left_shift,
                                                          p->identity_right_shift)
               : pocketml_multiply_by_quantized_multiplier(v, p->alpha_multiplier, p->alpha_left_shift,
                                                          p->alpha_right_shift);
    output[i] = pocketml_clamp_int8(scaled + p->output_zero_point, -128, 127);
  }
}
