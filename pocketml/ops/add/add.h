/* ADD: the kernel's parameters and entry (pocketml/ops/add/, see add.c). */
#ifndef POCKETML_ADD_H
#define POCKETML_ADD_H

#include <stdint.h>

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
} pocketml_add_params;

/* Element-wise: output may be an input (output == input); each element is read before it is
 * written. */
void pocketml_add(const pocketml_add_params *p, const int8_t *input1, const int8_t *input2,
                  int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_ADD_H */
