/* RELU6: the kernel's parameters and entry (pocketml/ops/relu6/, see relu6.c). */
#ifndef POCKETML_RELU6_H
#define POCKETML_RELU6_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t size, zero, six;
  int32_t int16; /* 1: int16 input and output (TFLite's 16x8 models); 0: int8 */
} pocketml_relu6_params;

/* Element-wise: output may be an input (output == input); each element is read before it is
 * written. Elements are int8_t, or int16_t when p->int16. */
void pocketml_relu6(const pocketml_relu6_params *p, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_RELU6_H */
