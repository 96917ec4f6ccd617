/* RELU6: the kernel's parameters and entry (pocketml/ops/relu6/, see relu6.c). */
#ifndef POCKETML_RELU6_H
#define POCKETML_RELU6_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t size, zero, six;
} pocketml_relu6_params;

/* Element-wise: output may be an input (output == input); each element is read before it is
 * written. */
void pocketml_relu6(const pocketml_relu6_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_RELU6_H */
