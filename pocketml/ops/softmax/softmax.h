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
} pocketml_softmax_params;

void pocketml_softmax(const pocketml_softmax_params *p, const int8_t *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_SOFTMAX_H */
