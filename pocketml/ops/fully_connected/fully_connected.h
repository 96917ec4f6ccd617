/* FULLY_CONNECTED: the kernel's parameters and entry (pocketml/ops/fully_connected/, see fully_connected.c). */
#ifndef POCKETML_FULLY_CONNECTED_H
#define POCKETML_FULLY_CONNECTED_H

#include <stdint.h>

#include "pocketml_requant.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t depth, out_c;
  int32_t input_offset;
  const int8_t *weights;      /* [out_c][depth] */
  const int32_t *bias;        /* [out_c] bias + input_offset * sum of the channel's weights */
  pocketml_requant rq;
  int32_t int16;              /* 1: TFLite's 16x8 (int16 input and output, zero points 0); 0: int8 */
  const int64_t *bias64;      /* 16x8 with an int64 bias: [out_c], summed in int64; else NULL */
} pocketml_fully_connected_params;

/* input and output: int8_t, or int16_t when p->int16 */
void pocketml_fully_connected(const pocketml_fully_connected_params *p, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_FULLY_CONNECTED_H */
