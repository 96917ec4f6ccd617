/* MUL, int8, with broadcasting (the C twin of pocketml/ops/mul/op.py).
 *
 *   y = clamp(output_zero_point + (x1 - z1) * (x2 - z2) * M, act_min, act_max)
 *
 * |(x1 - z1) * (x2 - z2)| <= 65025; the converter checked that it stays in int32 after the left shift.
 */
#include "pocketml_fixedpoint.h"
#include "mul.h"

void pocketml_mul(const pocketml_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
  const pocketml_broadcast *b = &p->broadcast;
  int32_t o = 0;
  for (int32_t i0 = 0; i0 < b->dims[0]; ++i0) {
    for (int32_t i1 = 0; i1 < b->dims[1]; ++i1) {
      for (int32_t i2 = 0; i2 < b->dims[2]; ++i2) {
        for (int32_t i3 = 0; i3 < b->dims[3]; ++i3) {
          const int32_t v1 = (int32_t)input1[pocketml_broadcast_offset(b->stride1, i0, i1, i2, i3)] -
                             p->input1_zero_point;
          const int32_t v2 = (int32_t)input2[pocketml_broadcast_offset(b->stride2, i0, i1, i2, i3)] -
                             p->input2_zero_point;
          const int32_t y = pocketml_multiply_by_quantized_multiplier(v1 * v2, p->multiplier, p->left_shift,
                                                                     p->right_shift);
          output[o++] = pocketml_clamp_int8(y + p->output_zero_point, p->act_min, p->act_max);
        }
      }
    }
  }
}
