/* HARD_SWISH: the kernel's parameters and entry (pocketml/ops/hard_swish/, see hard_swish.c). */
#ifndef POCKETML_HARD_SWISH_H
#define POCKETML_HARD_SWISH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t size;
  const int8_t *table; /* 256 outputs, one per int8 input value, in order -128..127 */
} pocketml_hard_swish_params;

/* Element-wise: output may be input (each element is read before it is written). */
void pocketml_hard_swish(const pocketml_hard_swish_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_HARD_SWISH_H */
