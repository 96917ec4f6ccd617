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
} pocketml_relu_params;

/* Element-wise: output may be an input (output == input); each element is read before it is
 * written. */
void pocketml_relu(const pocketml_relu_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_RELU_H */
