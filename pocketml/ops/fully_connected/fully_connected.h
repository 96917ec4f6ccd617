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
} pocketml_fully_connected_params;

void pocketml_fully_connected(const pocketml_fully_connected_params *p, const int8_t *input,
                              int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_FULLY_CONNECTED_H */
