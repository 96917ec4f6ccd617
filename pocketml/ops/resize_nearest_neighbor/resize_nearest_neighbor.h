/* RESIZE_NEAREST_NEIGHBOR: the kernel's parameters and entry (pocketml/ops/resize_nearest_neighbor/). */
#ifndef POCKETML_RESIZE_NEAREST_NEIGHBOR_H
#define POCKETML_RESIZE_NEAREST_NEIGHBOR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t in_w, channels, out_h, out_w;
  const int32_t *rows; /* input row of each output row */
  const int32_t *cols; /* input column of each output column */
} pocketml_resize_nearest_neighbor_params;

void pocketml_resize_nearest_neighbor(const pocketml_resize_nearest_neighbor_params *p, const int8_t *input,
                                      int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_RESIZE_NEAREST_NEIGHBOR_H */
