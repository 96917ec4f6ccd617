/* DEPTHWISE_CONV_2D, int8 (the C twin of pocketml/graph/ops/depthwise_conv2d.py).
 *
 *   output channel oc = ic * depth_multiplier + m reads input channel ic only
 *   acc[oc] = bias[oc] + sum over (ky, kx) of (x[.., ic] + input_offset) * w[0, ky, kx, oc]
 *   y[oc]   = clamp(output_offset + acc[oc] * M[oc], act_min, act_max)
 *
 * Taps in the padding are skipped. Overflow: the converter checked k_h * k_w * 255 * 127 + |bias|
 * < 2^31.
 */
#include "pocketml_fixedpoint.h"
#include "pocketml_ops.h"

void pocketml_depthwise_conv2d(const pocketml_depthwise_conv2d_params *p, const int8_t *input,
                               int8_t *output) {
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      for (int32_t ic = 0; ic < p->in_c; ++ic) {
        for (int32_t m = 0; m < p->depth_multiplier; ++m) {
          const int32_t oc = ic * p->depth_multiplier + m;
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
              acc += ((int32_t)input[(iy * p->in_w + ix) * p->in_c + ic] + p->input_offset) *
                     (int32_t)p->weights[(ky * p->k_w + kx) * p->out_c + oc];
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
}
