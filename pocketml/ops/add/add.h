/* ADD: the kernel's parameters and entry (pocketml/ops/add/, see add.c). */
#ifndef POCKETML_ADD_H
#define POCKETML_ADD_H

#include <stdint.h>

#include "pocketml_broadcast.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t size;
  int32_t input1_offset, input2_offset; /* minus the input zero points */
  int32_t input1_multiplier, input1_right_shift;
  int32_t input2_multiplier, input2_right_shift;
  int32_t output_multiplier, output_right_shift;
  int32_t output_offset, act_min, act_max;
  pocketml_broadcast broadcast; /* all dims 0: both operands have the output's shape (flat loop) */
  int32_t int16;                /* 1: int16 operands and output (TFLite's 16x8 models); 0: int8 */
} pocketml_add_params;

/* output may be an operand of the output's shape (output == input); each element is read before it
 * is written. Elements are int8_t, or int16_t when p->int16. */
void pocketml_add(const pocketml_add_params *p, const void *input1, const void *input2, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_ADD_H */
