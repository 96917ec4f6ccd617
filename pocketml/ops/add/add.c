/* ADD, int8, two differently quantized operands (the C twin of pocketml/ops/add/op.py).
 *
 *   v_i = (x_i + input_i_offset) * 2^20;  w_i = v_i * M_i  (M_i = s_i / (2 max(s_1, s_2)) <= 1/2)
 *   y   = clamp(output_offset + (w_1 + w_2) * M_out, act_min, act_max)
 *
 * All multipliers are below one (right shifts only). |v_i| <= 255 * 2^20 < 2^28: no overflow.
 * Operands of the output's shape run a flat loop; otherwise they broadcast (pocketml_broadcast.h).
 * Element-wise: output may be an operand of its shape (each element is read before it is written).
 */
#include "pocketml_fixedpoint.h"
#include "add.h"

static int8_t add_one(const pocketml_add_params *p, int32_t x1, int32_t x2) {
  const int32_t v1 = (x1 + p->input1_offset) * ((int32_t)1 << 20);
  const int32_t v2 = (x2 + p->input2_offset) * ((int32_t)1 << 20);
  const int32_t w1 = pocketml_rounding_divide_by_pot(pocketml_srdhm(v1, p->input1_multiplier),
                                                     p->input1_right_shift);
  const int32_t w2 = pocketml_rounding_divide_by_pot(pocketml_srdhm(v2, p->input2_multiplier),
                                                     p->input2_right_shift);
  const int32_t y = pocketml_rounding_divide_by_pot(pocketml_srdhm(w1 + w2, p->output_multiplier),
                                                    p->output_right_shift);
  return pocketml_clamp_int8(y + p->output_offset, p->act_min, p->act_max);
}

void pocketml_add(const pocketml_add_params *p, const int8_t *input1, const int8_t *input2,
                  int8_t *output) {
  const pocketml_broadcast *b = &p->broadcast;
  if (b->dims[0] == 0) {
    for (int32_t i = 0; i < p->size; ++i) {
      output[i] = add_one(p, input1[i], input2[i]);
    }
    return;
  }
  {
    int32_t o = 0;
    for (int32_t i0 = 0; i0 < b->dims[0]; ++i0) {
      for (int32_t i1 = 0; i1 < b->dims[1]; ++i1) {
        for (int32_t i2 = 0; i2 < b->dims[2]; ++i2) {
          for (int32_t i3 = 0; i3 < b->dims[3]; ++i3) {
            output[o++] = add_one(p, input1[pocketml_broadcast_offset(b->stride1, i0, i1, i2, i3)],
                                  input2[pocketml_broadcast_offset(b->stride2, i0, i1, i2, i3)]);
          }
        }
      }
    }
  }
}
