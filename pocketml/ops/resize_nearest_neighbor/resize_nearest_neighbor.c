/* RESIZE_NEAREST_NEIGHBOR, int8 (the C twin of pocketml/ops/resize_nearest_neighbor/op.py): each output
 * pixel's channels are copied from the input pixel (rows[y], cols[x]), computed at conversion time. */
#include "resize_nearest_neighbor.h"

void pocketml_resize_nearest_neighbor(const pocketml_resize_nearest_neighbor_params *p, const int8_t *input,
                                      int8_t *output) {
  for (int32_t y = 0; y < p->out_h; ++y) {
    const int8_t *row = input + p->rows[y] * p->in_w * p->channels;
    for (int32_t x = 0; x < p->out_w; ++x) {
      const int8_t *pixel = row + p->cols[x] * p->channels;
      for (int32_t c = 0; c < p->channels; ++c) {
        *output++ = pixel[c];
      }
    }
  }
}
