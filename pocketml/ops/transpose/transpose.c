/* TRANSPOSE, int8 (the C twin of pocketml/ops/transpose/op.py): the output in order, each element read
 * from the input through the permuted strides. */
#include "transpose.h"

void pocketml_transpose(const pocketml_transpose_params *p, const int8_t *input, int8_t *output) {
  for (int32_t i0 = 0; i0 < p->dims[0]; ++i0) {
    for (int32_t i1 = 0; i1 < p->dims[1]; ++i1) {
      for (int32_t i2 = 0; i2 < p->dims[2]; ++i2) {
        const int8_t *x = input + p->offset + i0 * p->strides[0] + i1 * p->strides[1] + i2 * p->strides[2];
        for (int32_t i3 = 0; i3 < p->dims[3]; ++i3) {
          *output++ = x[i3 * p->strides[3]];
        }
      }
    }
  }
}
