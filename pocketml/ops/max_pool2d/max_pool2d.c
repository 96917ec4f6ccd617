/* MAX_POOL_2D, int8 (the C twin of pocketml/ops/max_pool2d/op.py).
 *
 *   y[oy, ox, c] = clamp(max of x over the window, act_min, act_max)
 *
 * Input and output share quantization, so no rescaling; taps in the padding are skipped.
 * p->int16: the same over int16 values (TFLite's 16x8 models); the element is read by its type.
 */
#include "pocketml_fixedpoint.h"
#include "max_pool2d.h"

void pocketml_max_pool2d(const pocketml_max_pool2d_params *p, const void *input, void *output) {
  const int8_t *in8 = (const int8_t *)input;
  const int16_t *in16 = (const int16_t *)input;
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      for (int32_t c = 0; c < p->channels; ++c) {
        int32_t best = INT32_MIN; /* below any value: replaced by the first tap in the window */
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
          const int32_t iy = oy * p->stride_h - p->pad_top + ky;
          if (iy < 0 || iy >= p->in_h) {
            continue;
          }
          for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kx;
            if (ix < 0 || ix >= p->in_w) {
              continue;
            }
            const int32_t at = (iy * p->in_w + ix) * p->channels + c;
            const int32_t v = p->int16 ? (int32_t)in16[at] : (int32_t)in8[at];
            best = v > best ? v : best;
          }
        }
        const int32_t at = (oy * p->out_w + ox) * p->channels + c;
        if (p->int16) {
          ((int16_t *)output)[at] = pocketml_clamp_int16(best, p->act_min, p->act_max);
        } else {
          ((int8_t *)output)[at] = pocketml_clamp_int8(best, p->act_min, p->act_max);
        }
      }
    }
  }
}
