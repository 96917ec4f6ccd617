/* RESIZE_BILINEAR, int8, 10-bit weights (the C twin of pocketml/ops/resize_bilinear/op.py).
 *
 *   sum = q[y0,x0] (1024-wy)(1024-wx) + q[y1,x0] wy (1024-wx) + q[y0,x1] (1024-wy) wx + q[y1,x1] wy wx
 *   y   = (sum + (sum > 0 ? 2^19 : -2^19)) / 2^20            (int64, C's truncating division)
 */
#include "resize_bilinear.h"

void pocketml_resize_bilinear(const pocketml_resize_bilinear_params *p, const int8_t *input, int8_t *output) {
  const int32_t row = p->in_w * p->channels;
  for (int32_t y = 0; y < p->out_h; ++y) {
    const int64_t wy = p->wy[y];
    for (int32_t x = 0; x < p->out_w; ++x) {
      const int64_t wx = p->wx[x];
      const int8_t *a = input + p->y0[y] * row + p->x0[x] * p->channels;
      const int8_t *b = input + p->y1[y] * row + p->x0[x] * p->channels;
      const int8_t *c = input + p->y0[y] * row + p->x1[x] * p->channels;
      const int8_t *d = input + p->y1[y] * row + p->x1[x] * p->channels;
      for (int32_t k = 0; k < p->channels; ++k) {
        const int64_t sum = (int64_t)a[k] * (1024 - wy) * (1024 - wx) + (int64_t)b[k] * wy * (1024 - wx) +
                            (int64_t)c[k] * (1024 - wy) * wx + (int64_t)d[k] * wy * wx;
        const int64_t round = sum > 0 ? ((int64_t)1 << 19) : -((int64_t)1 << 19);
        *output++ = (int8_t)((sum + round) / ((int64_t)1 << 20));
      }
    }
  }
}
