/* TANH: the kernel's parameters and entry (pocketml/ops/tanh/, see tanh.c). */
#ifndef POCKETML_TANH_H
#define POCKETML_TANH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t size;
  const int8_t *table; /* 256 outputs, one per int8 input value, in order -128..127 */
} pocketml_tanh_params;

/* Element-wise: output may be input (each element is read before it is written). */
void pocketml_tanh(const pocketml_tanh_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_TANH_H */
