/* LEAKY_RELU: the kernel's parameters and entry (pocketml/ops/leaky_relu/, see leaky_relu.c). */
#ifndef POCKETML_LEAKY_RELU_H
#define POCKETML_LEAKY_RELU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t size;
  int32_t input_zero_point, output_zero_point;
  int32_t identity_multiplier, identity_left_shift, identity_right_shift; /* s_x / s_y */
  int32_t alpha_multiplier, alpha_left_shift, alpha_right_shift;          /* s_x * alpha / s_y */
} pocketml_leaky_relu_params;

/* Element-wise: output may be input (each element is read before it is written). */
void pocketml_leaky_relu(const pocketml_leaky_relu_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_LEAKY_RELU_H */
