/* AVERAGE_POOL_2D, int8, for cores with the DSP extension (the fast twin of avg_pool2d.c; see
 * pocketml_dsp.h).
 *
 *   sum = sum of x over the window taps inside the input; count = how many there are
 *   y   = clamp((sum +/- count / 2) / count, act_min, act_max)    (half away from zero)
 *
 * Four channels at a time: each tap is one word load and two SXTAB16, which add its bytes 0, 2
 * and 1, 3 into two int16 lanes each. The converter checked k_h * k_w * 128 <= 32767, so no
 * lane overflows (it keeps larger windows on the portable kernel), and that channels % 4 == 0.
 */
#ifndef POCKETML_AVG_POOL2D_DSP_H
#define POCKETML_AVG_POOL2D_DSP_H

#include "pocketml_dsp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t in_h, in_w, channels, out_h, out_w, k_h, k_w;
  int32_t stride_h, stride_w, pad_top, pad_left;
  int32_t act_min, act_max;
} pocketml_avg_pool2d_dsp_params;

POCKETML_INLINE int8_t pocketml_avg_pool2d_dsp_mean(int32_t sum, int32_t count, int32_t act_min,
                                                    int32_t act_max) {
  sum = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
  return (int8_t)(sum < act_min ? act_min : (sum > act_max ? act_max : sum));
}

/* wide: unused (no weights); every DSP kernel's body takes it, so the emitter calls them alike. */
POCKETML_INLINE void pocketml_avg_pool2d_dsp_body(const pocketml_avg_pool2d_dsp_params *p, int32_t wide,
                                                  const int8_t *input, int8_t *output) {
  (void)wide;
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    const int32_t ty = oy * p->stride_h - p->pad_top;
    const int32_t y0 = ty < 0 ? 0 : ty, y1 = ty + p->k_h > p->in_h ? p->in_h : ty + p->k_h;
    for (int32_t ox = 0; ox < p->out_w; ++ox, output += p->channels) {
      const int32_t tx = ox * p->stride_w - p->pad_left;
      const int32_t x0 = tx < 0 ? 0 : tx, x1 = tx + p->k_w > p->in_w ? p->in_w : tx + p->k_w;
      const int32_t count = (y1 - y0) * (x1 - x0); /* >= 1: the converter checked padding < kernel */
      for (int32_t c = 0; c < p->channels; c += 4) {
        int32_t even = 0, odd = 0; /* int16 lanes: channels c, c+2 and c+1, c+3 */
        for (int32_t iy = y0; iy < y1; ++iy) {
          const int8_t *x = input + (iy * p->in_w + x0) * p->channels + c;
          for (int32_t ix = x0; ix < x1; ++ix, x += p->channels) {
            const int32_t v = pocketml_read_s8x4(x);
            even = __sxtab16(even, v);
            odd = pocketml_sxtab16_ror8(odd, v);
          }
        }
        output[c] = pocketml_avg_pool2d_dsp_mean((int16_t)even, count, p->act_min, p->act_max);
        output[c + 1] = pocketml_avg_pool2d_dsp_mean((int16_t)odd, count, p->act_min, p->act_max);
        output[c + 2] = pocketml_avg_pool2d_dsp_mean(even >> 16, count, p->act_min, p->act_max);
        output[c + 3] = pocketml_avg_pool2d_dsp_mean(odd >> 16, count, p->act_min, p->act_max);
      }
    }
  }
}

/* The out-of-line kernel (avg_pool2d_dsp.c): one copy for every layer, when built for size. */
void pocketml_avg_pool2d_dsp(const pocketml_avg_pool2d_dsp_params *p, const int8_t *input,
                             int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_AVG_POOL2D_DSP_H */
