/* SOFTMAX: the kernel's parameters and entry (pocketml/ops/softmax/, see softmax.c). */
#ifndef POCKETML_SOFTMAX_H
#define POCKETML_SOFTMAX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t rows, depth;
  int32_t input_multiplier, input_left_shift, diff_min;
  int32_t output_bits; /* 16: int16 output (2 bytes an element, written unaligned); 0 or 8: int8 */
  /* int16 in and out (TFLite's 16x8 models, SoftmaxInt16): the input rescale's right shift and the two
   * 513-entry tables (exp on [-10, 0], 1/(1+x) on [0, 1]); int16 0: the int8 input above */
  int32_t int16, input_right_shift;
  const int16_t *exp_lut, *recip_lut;
} pocketml_softmax_params;

/* input: int8_t, or int16_t when p->int16 (then the output is int16_t too). */
void pocketml_softmax(const pocketml_softmax_params *p, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_SOFTMAX_H */
