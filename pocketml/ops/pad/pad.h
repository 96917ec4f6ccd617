/* PAD: the kernel's parameters and entry (pocketml/ops/pad/, see pad.c). */
#ifndef POCKETML_PAD_H
#define POCKETML_PAD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t in_h, in_w, channels, pad_top, pad_bottom, pad_left, pad_right;
  int32_t pad_value;          /* the zero point */
} pocketml_pad_params;

void pocketml_pad(const pocketml_pad_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_PAD_H */
