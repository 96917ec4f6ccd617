/* QUANTIZE: the kernel's parameters and entry (pocketml/ops/quantize/, see quantize.c). */
#ifndef POCKETML_QUANTIZE_H
#define POCKETML_QUANTIZE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t size;
  const int8_t *table; /* by the input's raw byte 0..255: the output's byte */
} pocketml_quantize_params;

/* input and output are int8 or uint8 (bytes); output may be input. */
void pocketml_quantize(const pocketml_quantize_params *p, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_QUANTIZE_H */
