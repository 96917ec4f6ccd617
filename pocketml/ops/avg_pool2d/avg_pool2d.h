/* AVERAGE_POOL_2D: the kernel's parameters and entry (pocketml/ops/avg_pool2d/, see avg_pool2d.c). */
#ifndef POCKETML_AVG_POOL2D_H
#define POCKETML_AVG_POOL2D_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t in_h, in_w, channels, out_h, out_w, k_h, k_w;
  int32_t stride_h, stride_w, pad_top, pad_left;
  int32_t act_min, act_max;
  int32_t int16;              /* 1: int16 input and output (TFLite's 16x8 models); 0: int8 */
} pocketml_avg_pool2d_params;

/* input and output: int8_t, or int16_t when p->int16 */
void pocketml_avg_pool2d(const pocketml_avg_pool2d_params *p, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_AVG_POOL2D_H */
