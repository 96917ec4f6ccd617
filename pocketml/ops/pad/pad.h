/* PAD: the kernel's parameters and entry (pocketml/ops/pad/, see pad.c). */
#ifndef POCKETML_PAD_H
#define POCKETML_PAD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t in_h, in_w, channels, pad_top, pad_bottom, pad_left, pad_right;
  int32_t pad_value;          /* the zero point, or PADV2's value */
  /* any axes: the input's shape padded on the left to 4 axes, and each axis's padding (dims[0] == 0:
   * an H, W pad of a map, above) */
  int32_t dims[4], before[4], after[4];
} pocketml_pad_params;

void pocketml_pad(const pocketml_pad_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_PAD_H */
