/* PRELU, int8 (the C twin of pocketml/ops/prelu/op.py).
 *
 *   v = x - input_zero_point
 *   y = clamp(output_zero_point + (v >= 0 ? v * M_1 : v * (alpha - alpha_zero_point) * M_2), -128, 127)
 *
 * |v| <= 255, |v * (alpha - z_alpha)| <= 65025; the converter checked both left shifts.
 */
#include "pocketml_fixedpoint.h"
#include "prelu.h"

void pocketml_prelu(const pocketml_prelu_params *p, const int8_t *input, const int8_t *alpha, int8_t *output) {
  const pocketml_broadcast *b = &p->broadcast;
  int32_t o = 0;
  for (int32_t i0 = 0; i0 < b->dims[0]; ++i0) {
    for (int32_t i1 = 0; i1 < b->dims[1]; ++i1) {
      for (int32_t i2 = 0; i2 < b->dims[2]; ++i2) {
        for (int32_t i3 = 0; i3 < b->dims[3]; ++i3) {
          const int32_t v = (int32_t)input[pocketml_broadcast_offset(b->stride1, i0, i1, i2, i3)] -
                            p->input_zero_point;
          int32_t y;
          if (v >= 0) {
            y = pocketml_multiply_by_quantized_multiplier(v, p->identity_multiplier, p->identity_left_shift,
                                                          p->identity_right_shift);
          } else {
            const int32_t a = (int32_t)alpha[pocketml_broadcast_offset(b->stride2, i0, i1, i2, i3)] -
                              p->alpha_zero_point;
            y = pocketml_multiply_by_quantized_multiplier(v * a, p->alpha_multiplier, p->alpha_left_shift,
                                                          p->alpha_right_shift);
          }
          output[o++] = pocketml_clamp_int8(y + p->output_zero_point, -128, 127);
        }
      }
    }
  }
}
