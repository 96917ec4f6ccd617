/* TILE, int8 (the C twin of pocketml/ops/tile/op.py): output element (i0..i3) copies input element
 * (i0 mod d0, ..., i3 mod d3). */
#include "tile.h"

void pocketml_tile(const pocketml_tile_params *p, const int8_t *input, int8_t *output) {
  for (int32_t i0 = 0; i0 < p->dims[0]; ++i0) {
    for (int32_t i1 = 0; i1 < p->dims[1]; ++i1) {
      for (int32_t i2 = 0; i2 < p->dims[2]; ++i2) {
        const int8_t *x = input + (i0 % p->in_dims[0]) * p->in_strides[0] + (i1 % p->in_dims[1]) * p->in_strides[1] +
                          (i2 % p->in_dims[2]) * p->in_strides[2];
        for (int32_t i3 = 0; i3 < p->dims[3]; ++i3) {
          *output++ = x[(i3 % p->in_dims[3]) * p->in_strides[3]];
        }
      }
    }
  }
}
