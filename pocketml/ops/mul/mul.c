/* MUL, int8, with broadcasting (the C twin of pocketml/ops/mul/op.py).
 *
 *   y = clamp(output_zero_point + (x1 - z1) * (x2 - z2) * M, act_min, act_max)
 *
 * |(x1 - z1) * (x2 - z2)| <= 65025; the converter checked that it stays in int32 after the left shift.
 * p->int16: int16 operands and output (TFLite's 16x8 models, zero points 0): |x1 * x2| <= 2^30, the
 * same steps; each element is read and written by its type.
 */
#include "pocketml_fixedpoint.h"
#include "mul.h"

/* element i of a buffer of int8 (or int16, p->int16) values */
static int32_t mul_load(const pocketml_mul_params *p, const void *x, int32_t i) {
  return p->int16 ? (int32_t)((const int16_t *)x)[i] : (int32_t)((const int8_t *)x)[i];
}

void pocketml_mul(const pocketml_mul_params *p, const void *input1, const void *input2, void *output) {
  const pocketml_broadcast *b = &p->broadcast;
  int32_t o = 0;
  for (int32_t i0 = 0; i0 < b->dims[0]; ++i0) {
    for (int32_t i1 = 0; i1 < b->dims[1]; ++i1) {
      for (int32_t i2 = 0; i2 < b->dims[2]; ++i2) {
        for (int32_t i3 = 0; i3 < b->dims[3]; ++i3) {
          const int32_t v1 = mul_load(p, input1, pocketml_broadcast_offset(b->stride1, i0, i1, i2, i3)) -
                             p->input1_zero_point;
          const int32_t v2 = mul_load(p, input2, pocketml_broadcast_offset(b->stride2, i0, i1, i2, i3)) -
                             p->input2_zero_point;
          const int32_t y = pocketml_multiply_by_quantized_multiplier(v1 * v2, p->multiplier, p->left_shift,
                                                                     p->right_shift) + p->output_zero_point;
          const int32_t v = y < p->act_min ? p->act_min : (y > p->act_max ? p->act_max : y);
          if (p->int16) {
            ((int16_t *)output)[o++] = (int16_t)v;
          } else {
            ((int8_t *)output)[o++] = (int8_t)v;
          }
        }
      }
    }
  }
}
