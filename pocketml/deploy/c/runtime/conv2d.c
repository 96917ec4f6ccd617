/* CONV_2D, int8 (the C twin of pocketml/graph/ops/conv2d.py).
 *
 *   acc[c] = bias[c] + sum over (ky, kx, i) of (x + input_offset) * w[c, ky, kx, i]
 *   y[c]   = clamp(output_offset + acc[c] * M[c], act_min, act_max)
 *
 * Taps in the padding are skipped (they would contribute (z_x + input_offset) * w = 0).
 * Overflow: |x + input_offset| <= 255, |w| <= 127; the converter checked
 * k_h * k_w * in_c * 255 * 127 + |bias| < 2^31.
 */
#include "pocketml_fixedpoint.h"
#include "pocketml_ops.h"

void pocketml_conv2d(const pocketml_conv2d_params *p, const int8_t *input, int8_t *output) {
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      for (int32_t oc = 0; oc < p->out_c; ++oc) {
        int32_t acc = p->bias[oc];
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
          const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
          if (iy < 0 || iy >= p->in_h) {
            continue;
          }
          for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
            if (ix < 0 || ix >= p->in_w) {
              continue;
            }
            const int8_t *x = input + (iy * p->in_w + ix) * p->in_c;
            const int8_t *w = p->weights + ((oc * p->k_h + ky) * p->k_w + kx) * p->in_c;
            for (int32_t i = 0; i < p->in_c; ++i) {
              acc += ((int32_t)x[i] + p->input_offset) * (int32_t)w[i];
            }
          }
        }
        acc = pocketml_multiply_by_quantized_multiplier(
            acc, p->rq.multiplier[oc], p->rq.left_shift[oc], p->rq.right_shift[oc]);
        output[(oy * p->out_w + ox) * p->out_c + oc] =
            pocketml_clamp_int8(acc + p->rq.output_offset, p->rq.act_min, p->rq.act_max);
      }
    }
  }
}
