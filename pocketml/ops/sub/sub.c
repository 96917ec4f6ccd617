/* SUB, int8, with broadcasting (the C twin of pocketml/ops/sub/op.py): ADD's arithmetic, minus.
 *
 *   w_i = round((x_i + input_i_offset) * 2^20 * M_i)
 *   y   = clamp(output_offset + round((w_1 - w_2) * M_out), act_min, act_max)
 *
 * p->int16: int16 operands and output (TFLite's 16x8 models), 2^15 for 2^20 (|w_1 - w_2| < 2^31);
 * each element is read and written by its type.
 */
#include "pocketml_fixedpoint.h"
#include "sub.h"

static int32_t sub_scaled(int32_t x, int32_t offset, int32_t multiplier, int32_t right_shift, int32_t shift) {
  return pocketml_rounding_divide_by_pot(pocketml_srdhm((x + offset) * ((int32_t)1 << shift), multiplier),
                                         right_shift);
}

/* element i of a buffer of int8 (or int16, p->int16) values */
static int32_t sub_load(const pocketml_sub_params *p, const void *x, int32_t i) {
  return p->int16 ? (int32_t)((const int16_t *)x)[i] : (int32_t)((const int8_t *)x)[i];
}

void pocketml_sub(const pocketml_sub_params *p, const void *input1, const void *input2, void *output) {
  const pocketml_broadcast *b = &p->broadcast;
  const int32_t shift = p->int16 ? 15 : 20;
  int32_t o = 0;
  for (int32_t i0 = 0; i0 < b->dims[0]; ++i0) {
    for (int32_t i1 = 0; i1 < b->dims[1]; ++i1) {
      for (int32_t i2 = 0; i2 < b->dims[2]; ++i2) {
        for (int32_t i3 = 0; i3 < b->dims[3]; ++i3) {
          const int32_t w1 = sub_scaled(sub_load(p, input1, pocketml_broadcast_offset(b->stride1, i0, i1, i2, i3)),
                                        p->input1_offset, p->input1_multiplier, p->input1_right_shift, shift);
          const int32_t w2 = sub_scaled(sub_load(p, input2, pocketml_broadcast_offset(b->stride2, i0, i1, i2, i3)),
                                        p->input2_offset, p->input2_multiplier, p->input2_right_shift, shift);
          const int32_t y = pocketml_rounding_divide_by_pot(pocketml_srdhm(w1 - w2, p->output_multiplier),
                                                            p->output_right_shift) + p->output_offset;
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
