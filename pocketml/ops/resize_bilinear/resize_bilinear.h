/* RESIZE_BILINEAR: the kernel's parameters and entry (pocketml/ops/resize_bilinear/, see resize_bilinear.c). */
#ifndef POCKETML_RESIZE_BILINEAR_H
#define POCKETML_RESIZE_BILINEAR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t in_w, channels, out_h, out_w;
  const int32_t *y0, *y1, *wy; /* per output row: the two input rows and the weight of y1 (/1024) */
  const int32_t *x0, *x1, *wx; /* per output column, likewise */
} pocketml_resize_bilinear_params;

void pocketml_resize_bilinear(const pocketml_resize_bilinear_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_RESIZE_BILINEAR_H */
