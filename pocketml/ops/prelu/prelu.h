/* PRELU: the kernel's parameters and entry (pocketml/ops/prelu/, see prelu.c). */
#ifndef POCKETML_PRELU_H
#define POCKETML_PRELU_H

#include <stdint.h>

#include "pocketml_broadcast.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  pocketml_broadcast broadcast; /* stride1: x, stride2: alpha */
  int32_t input_zero_point, alpha_zero_point, output_zero_point;
  int32_t identity_multiplier, identity_left_shift, identity_right_shift; /* s_x / s_y */
  int32_t alpha_multiplier, alpha_left_shift, alpha_right_shift;          /* s_x * s_alpha / s_y */
} pocketml_prelu_params;

/* Element-wise in x: output may be input (each element is read before it is written). */
void pocketml_prelu(const pocketml_prelu_params *p, const int8_t *input, const int8_t *alpha, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_PRELU_H */
