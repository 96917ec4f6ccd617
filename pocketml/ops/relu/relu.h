/* RELU: the kernel's parameters and entry (pocketml/ops/relu/, see relu.c). */
#ifndef POCKETML_RELU_H
#define POCKETML_RELU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t size, input_zero_point, multiplier, left_shift, right_shift, output_zero_point;
  int32_t act_min, act_max;
  int32_t int16; /* 1: int16 input and output (TFLite's 16x8 models); 0: int8 */
} pocketml_relu_params;

/* Element-wise: output may be an input (output == input); each element is read before it is
 * written. Elements are int8_t, or int16_t when p->int16. */
void pocketml_relu(const pocketml_relu_params *p, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_RELU_H */
