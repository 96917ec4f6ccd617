/* PAD with a constant, int8 (the C twin of pocketml/ops/pad/op.py).
 *
 * Input and output share quantization: the border holds the pad value, the inside is copied.
 * An H, W pad of a map uses the first loop; any other axes the second (4 axes, dims[0] > 0).
 */
#include "pad.h"

static void pad_any_axes(const pocketml_pad_params *p, const int8_t *input, int8_t *output) {
  int32_t out[4], stride[4];
  stride[3] = 1;
  for (int32_t a = 3; a > 0; --a) {
    stride[a - 1] = stride[a] * p->dims[a];
  }
  for (int32_t a = 0; a < 4; ++a) {
    out[a] = p->dims[a] + p->before[a] + p->after[a];
  }
  for (int32_t i0 = 0; i0 < out[0]; ++i0) {
    for (int32_t i1 = 0; i1 < out[1]; ++i1) {
      for (int32_t i2 = 0; i2 < out[2]; ++i2) {
        for (int32_t i3 = 0; i3 < out[3]; ++i3) {
          const int32_t j0 = i0 - p->before[0], j1 = i1 - p->before[1];
          const int32_t j2 = i2 - p->before[2], j3 = i3 - p->before[3];
          const int inside = j0 >= 0 && j0 < p->dims[0] && j1 >= 0 && j1 < p->dims[1] && j2 >= 0 &&
                             j2 < p->dims[2] && j3 >= 0 && j3 < p->dims[3];
          *output++ = inside ? input[j0 * stride[0] + j1 * stride[1] + j2 * stride[2] + j3 * stride[3]]
                             : (int8_t)p->pad_value;
        }
      }
    }
  }
}

void pocketml_pad(const pocketml_pad_params *p, const int8_t *input, int8_t *output) {
  if (p->dims[0] > 0) {
    pad_any_axes(p, input, output);
    return;
  }
  {
    const int32_t out_h = p->in_h + p->pad_top + p->pad_bottom;
    const int32_t out_w = p->in_w + p->pad_left + p->pad_right;
    for (int32_t y = 0; y < out_h; ++y) {
      const int32_t iy = y - p->pad_top;
      for (int32_t x = 0; x < out_w; ++x) {
        const int32_t ix = x - p->pad_left;
        const int inside = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
        for (int32_t c = 0; c < p->channels; ++c) {
          output[(y * out_w + x) * p->channels + c] =
              inside ? input[(iy * p->in_w + ix) * p->channels + c] : (int8_t)p->pad_value;
        }
      }
    }
  }
}
