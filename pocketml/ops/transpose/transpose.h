/* TRANSPOSE: the kernel's parameters and entry (pocketml/ops/transpose/, see transpose.c). */
#ifndef POCKETML_TRANSPOSE_H
#define POCKETML_TRANSPOSE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t dims[4];    /* the output's shape, padded on the left to 4 axes */
  int32_t strides[4]; /* the input's stride along each output axis */
  int32_t offset;     /* unused (0) */
} pocketml_transpose_params;

void pocketml_transpose(const pocketml_transpose_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_TRANSPOSE_H */
