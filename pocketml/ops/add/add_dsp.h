/* ADD, int8, for cores with the DSP extension (the fast twin of add.c; see pocketml_dsp.h).
 *
 * add.c rescales each input with a multiply and two roundings:
 *   w_i = rdbp(srdhm((x_i + input_i_offset) * 2^20, M_i), r_i)
 * an int8 x_i has 256 values, so the converter tabulated 2 * w_i for every one of them
 * (ops/add/dsp.py: add_table; `table_i` points at the entry of x = 0). What is left per element is
 *   y = clamp(rdbp(srdhm(w_1 + w_2, M_out), r_out) + output_offset, act_min, act_max)
 * with the requantization of pocketml_dsp.h (the doubling is in the tables). |w_i| < 2^28.
 * Element-wise: output may be input1 or input2 (each element is read before it is written).
 */
#ifndef POCKETML_ADD_DSP_H
#define POCKETML_ADD_DSP_H

#include "pocketml_dsp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t size;
  const int32_t *table1, *table2; /* [-128 .. 127], indexed by the int8 input */
  pocketml_dsp_channel out;       /* bias unused; output multiplier, nudge, right shift */
  int32_t act_min, act_max;
} pocketml_add_dsp_params;

/* wide: unused (no weights); every DSP kernel's body takes it, so the emitter calls them alike. */
POCKETML_INLINE void pocketml_add_dsp_body(const pocketml_add_dsp_params *p, int32_t wide, const int8_t *input1,
                                           const int8_t *input2, int8_t *output) {
  (void)wide;
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t sum = p->table1[input1[i]] + p->table2[input2[i]];
    output[i] = pocketml_dsp_requantize(sum, &p->out, p->act_min, p->act_max, 1);
  }
}

/* The out-of-line kernel (add_dsp.c): one copy for every layer, when built for size. */
void pocketml_add_dsp(const pocketml_add_dsp_params *p, const int8_t *input1, const int8_t *input2,
                      int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_ADD_DSP_H */
