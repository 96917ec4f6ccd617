/* PAD on height and width with the zero point, int8 (the C twin of pocketml/ops/pad/op.py).
 *
 * Input and output share quantization: the border holds the quantized 0.0, the inside is copied.
 */
#include "pad.h"

void pocketml_pad(const pocketml_pad_params *p, const int8_t *input, int8_t *output) {
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
