/* LOGISTIC: the kernel's parameters and entry (pocketml/ops/logistic/, see logistic.c). */
#ifndef POCKETML_LOGISTIC_H
#define POCKETML_LOGISTIC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t size;
  const int8_t *table; /* 256 outputs, one per int8 input value, in order -128..127 */
} pocketml_logistic_params;

/* Element-wise: output may be input (each element is read before it is written). */
void pocketml_logistic(const pocketml_logistic_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_LOGISTIC_H */
