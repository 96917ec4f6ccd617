/* MAXIMUM, int8, with broadcasting (the C twin of pocketml/ops/maximum/op.py): raw values compared,
 * operands and output sharing one quantization. */
#include "maximum.h"

void pocketml_maximum(const pocketml_maximum_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
  const pocketml_broadcast *b = &p->broadcast;
  int32_t o = 0;
  for (int32_t i0 = 0; i0 < b->dims[0]; ++i0) {
    for (int32_t i1 = 0; i1 < b->dims[1]; ++i1) {
      for (int32_t i2 = 0; i2 < b->dims[2]; ++i2) {
        for (int32_t i3 = 0; i3 < b->dims[3]; ++i3) {
          const int8_t x1 = input1[pocketml_broadcast_offset(b->stride1, i0, i1, i2, i3)];
          const int8_t x2 = input2[pocketml_broadcast_offset(b->stride2, i0, i1, i2, i3)];
          output[o++] = x1 > x2 ? x1 : x2;
        }
      }
    }
  }
}
