/* MEAN: the kernel's parameters and entry (pocketml/ops/mean/, see mean.c). */
#ifndef POCKETML_MEAN_H
#define POCKETML_MEAN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t count, channels;    /* the reduced elements (in_h * in_w), and what is kept after them */
  int32_t input_zero_point;
  int32_t multiplier, left_shift, right_shift;
  int32_t output_zero_point;
  int32_t outer;              /* blocks of count x channels; 0 (an H, W mean): one */
  int32_t int16;              /* 1: int16 input and output (TFLite's 16x8 models); 0: int8 */
} pocketml_mean_params;

/* Elements are int8_t, or int16_t when p->int16. */
void pocketml_mean(const pocketml_mean_params *p, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_MEAN_H */
