/* SUB: the kernel's parameters and entry (pocketml/ops/sub/, see sub.c). */
#ifndef POCKETML_SUB_H
#define POCKETML_SUB_H

#include <stdint.h>

#include "pocketml_broadcast.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  pocketml_broadcast broadcast;
  int32_t input1_offset, input2_offset; /* minus the input zero points */
  int32_t input1_multiplier, input1_right_shift;
  int32_t input2_multiplier, input2_right_shift;
  int32_t output_multiplier, output_right_shift;
  int32_t output_offset, act_min, act_max;
  int32_t int16; /* 1: int16 operands and output (TFLite's 16x8 models); 0: int8 */
} pocketml_sub_params;

/* output may be an operand of the output's shape (each element is read before it is written).
 * Elements are int8_t, or int16_t when p->int16. */
void pocketml_sub(const pocketml_sub_params *p, const void *input1, const void *input2, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_SUB_H */
