/* ADD, int8, two differently quantized inputs (the C twin of pocketml/ops/add/op.py).
 *
 *   v_i = (x_i + input_i_offset) * 2^20;  w_i = v_i * M_i  (M_i = s_i / (2 max(s_1, s_2)) <= 1/2)
 *   y   = clamp(output_offset + (w_1 + w_2) * M_out, act_min, act_max)
 *
 * All multipliers are below one (right shifts only). |v_i| <= 255 * 2^20 < 2^28: no overflow.
 * Element-wise: output may be input1 or input2 (each element is read before it is written).
 */
#include "pocketml_fixedpoint.h"
#include "add.h"

void pocketml_add(const pocketml_add_params *p, const int8_t *input1, const int8_t *input2,
                  int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v1 = ((int32_t)input1[i] + p->input1_offset) * ((int32_t)1 << 20);
    const int32_t v2 = ((int32_t)input2[i] + p->input2_offset) * ((int32_t)1 << 20);
    const int32_t w1 = pocketml_rounding_divide_by_pot(pocketml_srdhm(v1, p->input1_multiplier),
                                                       p->input1_right_shift);
    const int32_t w2 = pocketml_rounding_divide_by_pot(pocketml_srdhm(v2, p->input2_multiplier),
                                                       p->input2_right_shift);
    const int32_t y = pocketml_rounding_divide_by_pot(
        pocketml_srdhm(w1 + w2, p->output_multiplier), p->output_right_shift);
    output[i] = pocketml_clamp_int8(y + p->output_offset, p->act_min, p->act_max);
  }
}
