/* CONV_2D: the kernel's parameters and entry (pocketml/ops/conv2d/, see conv2d.c). */
#ifndef POCKETML_CONV2D_H
#define POCKETML_CONV2D_H

#include <stdint.h>

#include "pocketml_requant.h"
#include "pocketml_window.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
  int32_t stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  int32_t input_offset;       /* minus the input zero point */
  const int8_t *weights;      /* HWIO: [k_h][k_w][in_c][out_c] */
  const int32_t *bias;        /* [out_c] bias + input_offset * sum of the channel's weights */
  pocketml_requant rq;
  /* a max pool in the epilogue (pool.h 0: none); out_h x out_w is then the conv's map, never stored */
  pocketml_window_pool pool;
  int32_t int16;              /* 1: TFLite's 16x8 (int16 input and output, zero points 0); 0: int8 */
  const int64_t *bias64;      /* 16x8 with an int64 bias: [out_c], summed in int64; else NULL */
  int32_t sum32;              /* 16x8: k_h * k_w * in_c * 32768 * 127 < 2^31, products summed in int32 */
} pocketml_conv2d_params;

/* input and output: int8_t, or int16_t when p->int16 */
void pocketml_conv2d(const pocketml_conv2d_params *p, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_CONV2D_H */
