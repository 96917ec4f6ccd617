/* STRIDED_SLICE: the kernel's parameters and entry (pocketml/ops/strided_slice/, see strided_slice.c). */
#ifndef POCKETML_STRIDED_SLICE_H
#define POCKETML_STRIDED_SLICE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t dims[4];    /* the output's shape, padded on the left to 4 axes */
  int32_t strides[4]; /* the input elements between neighbours along each output axis */
  int32_t offset;     /* the input element of output element 0 */
} pocketml_strided_slice_params;

void pocketml_strided_slice(const pocketml_strided_slice_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_STRIDED_SLICE_H */
