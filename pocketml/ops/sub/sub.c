/* SUB, int8, with broadcasting (the C twin of pocketml/ops/sub/op.py): ADD's arithmetic, minus.
 *
 *   w_i = round((x_i + input_i_offset) * 2^20 * M_i)
 *   y   = clamp(output_offset + round((w_1 - w_2) * M_out), act_min, act_max)
 */
#include "pocketml_fixedpoint.h"
#include "sub.h"

static int32_t sub_scaled(int32_t x, int32_t offset, int32_t multiplier, int32_t right_shift) {
  return pocketml_rounding_divide_by_pot(pocketml_srdhm((x + offset) * ((int32_t)1 << 20), multiplier), right_shift);
}

void pocketml_sub(const pocketml_sub_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
  const pocketml_broadcast *b = &p->broadcast;
  int32_t o = 0;
  for (int32_t i0 = 0; i0 < b->dims[0]; ++i0) {
    for (int32_t i1 = 0; i1 < b->dims[1]; ++i1) {
      for (int32_t i2 = 0; i2 < b->dims[2]; ++i2) {
        for (int32_t i3 = 0; i3 < b->dims[3]; ++i3) {
          const int32_t w1 = sub_scaled(input1[pocketml_broadcast_offset(b->stride1, i0, i1, i2, i3)],
                                        p->input1_offset, p->input1_multiplier, p->input1_right_shift);
          const int32_t w2 = sub_scaled(input2[pocketml_broadcast_offset(b->stride2, i0, i1, i2, i3)],
                                        p->input2_offset, p->input2_multiplier, p->input2_right_shift);
          const int32_t y = pocketml_rounding_divide_by_pot(pocketml_srdhm(w1 - w2, p->output_multiplier),
                                                            p->output_right_shift);
          output[o++] = pocketml_clamp_int8(y + p->output_offset, p->act_min, p->act_max);
        }
      }
    }
  }
}
