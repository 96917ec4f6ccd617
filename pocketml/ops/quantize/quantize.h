/* QUANTIZE: the kernel's parameters and entry (pocketml/ops/quantize/, see quantize.c). */
#ifndef POCKETML_QUANTIZE_H
#define POCKETML_QUANTIZE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t size;        /* elements */
  const int8_t *table; /* 8-bit in and out: by the input's raw byte 0..255, the output's byte; else NULL */
  /* without a table (int16 in, or int16/int32 out): y = clamp(z_y + (x - z_x) * M, out_min, out_max) */
  int32_t input_bytes, output_bytes; /* 1, 2 or 4: int8, int16, int32 */
  int32_t multiplier, left_shift, right_shift;
  int32_t input_zero_point, output_zero_point, out_min, out_max;
} pocketml_quantize_params;

/* input and output are raw bytes of their types (no alignment needed); output may be input when both
 * types have one size. */
void pocketml_quantize(const pocketml_quantize_params *p, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_QUANTIZE_H */
