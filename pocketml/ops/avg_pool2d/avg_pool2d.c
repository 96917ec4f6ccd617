/* AVERAGE_POOL_2D, int8 (the C twin of pocketml/ops/avg_pool2d/op.py).
 *
 *   sum = sum of x over the window taps inside the input; count = how many there are
 *   y   = clamp((sum +/- count / 2) / count, act_min, act_max)    (half away from zero)
 *
 * Input and output share quantization. |sum| <= k_h * k_w * 128: no overflow.
 * p->int16: the same over int16 values (TFLite's 16x8 models; |sum| <= k_h * k_w * 32768, the
 * converter checked k_h * k_w < 65536); the element is read by its type.
 */
#include "pocketml_fixedpoint.h"
#include "avg_pool2d.h"

void pocketml_avg_pool2d(const pocketml_avg_pool2d_params *p, const void *input, void *output) {
  const int8_t *in8 = (const int8_t *)input;
  const int16_t *in16 = (const int16_t *)input;
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      for (int32_t c = 0; c < p->channels; ++c) {
        int32_t sum = 0;
        int32_t count = 0;
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
            sum += p->int16 ? (int32_t)in16[at] : (int32_t)in8[at];
            ++count;
          }
        }
        /* count >= 1: the converter checked padding < kernel */
        sum = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
        const int32_t at = (oy * p->out_w + ox) * p->channels + c;
        if (p->int16) {
          ((int16_t *)output)[at] = pocketml_clamp_int16(sum, p->act_min, p->act_max);
        } else {
          ((int8_t *)output)[at] = pocketml_clamp_int8(sum, p->act_min, p->act_max);
        }
      }
    }
  }
}
