/* MUL: the kernel's parameters and entry (pocketml/ops/mul/, see mul.c). */
#ifndef POCKETML_MUL_H
#define POCKETML_MUL_H

#include <stdint.h>

#include "pocketml_broadcast.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  pocketml_broadcast broadcast; /* output shape and operand strides (0: broadcast axis) */
  int32_t input1_zero_point, input2_zero_point, output_zero_point;
  int32_t multiplier, left_shift, right_shift; /* s_1 * s_2 / s_y */
  int32_t act_min, act_max;
  int32_t int16; /* 1: int16 operands and output (TFLite's 16x8 models); 0: int8 */
} pocketml_mul_params;

/* output may be an operand of the output's shape (each element is read before it is written).
 * Elements are int8_t, or int16_t when p->int16. */
void pocketml_mul(const pocketml_mul_params *p, const void *input1, const void *input2, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_MUL_H */
