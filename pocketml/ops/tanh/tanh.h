/* TANH: the kernel's parameters and entry (pocketml/ops/tanh/, see tanh.c). */
#ifndef POCKETML_TANH_H
#define POCKETML_TANH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t size;        /* elements */
  const int8_t *table; /* int8: 256 outputs, one per int8 input value, in order -128..127 */
  int32_t int16;       /* 1: int16 in and out (TFLite's 16x8 models), by the fields below */
  int32_t multiplier, shift; /* the input onto the sigmoid table (pocketml_sigmoid16.h) */
  const uint16_t *sigmoid;   /* [256] 2^16 sigmoid(k / 24), measured from TFLite Micro */
} pocketml_tanh_params;

/* Element-wise: output may be input (each element is read before it is written). */
void pocketml_tanh(const pocketml_tanh_params *p, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_TANH_H */
