/* ADD, int8, two differently quantized operands (the C twin of pocketml/ops/add/op.py).
 *
 *   v_i = (x_i + input_i_offset) * 2^20;  w_i = v_i * M_i  (M_i = s_i / (2 max(s_1, s_2)) <= 1/2)
 *   y   = clamp(output_offset + (w_1 + w_2) * M_out, act_min, act_max)
 *
 * All multipliers are below one (right shifts only). |v_i| <= 255 * 2^20 < 2^28: no overflow.
 * Operands of the output's shape run a flat loop; otherwise they broadcast (pocketml_broadcast.h).
 * Element-wise: output may be an operand of its shape (each element is read before it is written).
 * p->int16: int16 operands and output (TFLite's 16x8 models), the same steps with 2^15 for 2^20
 * (|x + offset| <= 65535: |v_i| < 2^31); each element is read and written by its type.
 */
#include "pocketml_fixedpoint.h"
#include "add.h"

static int32_t add_one(const pocketml_add_params *p, int32_t x1, int32_t x2) {
  const int32_t shift = p->int16 ? 15 : 20;
  const int32_t v1 = (x1 + p->input1_offset) * ((int32_t)1 << shift);
  const int32_t v2 = (x2 + p->input2_offset) * ((int32_t)1 << shift);
  const int32_t w1 = pocketml_rounding_divide_by_pot(pocketml_srdhm(v1, p->input1_multiplier),
                                                     p->input1_right_shift);
  const int32_t w2 = pocketml_rounding_divide_by_pot(pocketml_srdhm(v2, p->input2_multiplier),
                                                     p->input2_right_shift);
  const int32_t y = pocketml_rounding_divide_by_pot(pocketml_srdhm(w1 + w2, p->output_multiplier),
                                                    p->output_right_shift);
  const int32_t v = y + p->output_offset;
  return v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
}

/* element i of a buffer of int8 (or int16, p->int16) values */
static int32_t add_load(const pocketml_add_params *p, const void *x, int32_t i) {
  return p->int16 ? (int32_t)((const int16_t *)x)[i] : (int32_t)((const int8_t *)x)[i];
}

static void add_store(const pocketml_add_params *p, void *y, int32_t i, int32_t v) {
  if (p->int16) {
    ((int16_t *)y)[i] = (int16_t)v;
  } else {
    ((int8_t *)y)[i] = (int8_t)v;
  }
}

void pocketml_add(const pocketml_add_params *p, const void *input1, const void *input2, void *output) {
  const pocketml_broadcast *b = &p->broadcast;
  if (b->dims[0] == 0) {
    for (int32_t i = 0; i < p->size; ++i) {
      add_store(p, output, i, add_one(p, add_load(p, input1, i), add_load(p, input2, i)));
    }
    return;
  }
  {
    int32_t o = 0;
    for (int32_t i0 = 0; i0 < b->dims[0]; ++i0) {
      for (int32_t i1 = 0; i1 < b->dims[1]; ++i1) {
        for (int32_t i2 = 0; i2 < b->dims[2]; ++i2) {
          for (int32_t i3 = 0; i3 < b->dims[3]; ++i3) {
            add_store(p, output, o++,
                      add_one(p, add_load(p, input1, pocketml_broadcast_offset(b->stride1, i0, i1, i2, i3)),
                              add_load(p, input2, pocketml_broadcast_offset(b->stride2, i0, i1, i2, i3))));
          }
        }
      }
    }
  }
}
