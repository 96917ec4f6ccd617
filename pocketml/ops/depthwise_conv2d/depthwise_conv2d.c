/* DEPTHWISE_CONV_2D, int8 (the C twin of pocketml/ops/depthwise_conv2d/op.py).
 *
 *   output channel oc = ic * depth_multiplier + m reads input channel ic only
 *   acc[oc] = bias[oc] + sum over (ky, kx) of (x[.., ic] + input_offset) * w[0, ky, kx, oc]
 *           = folded_bias[oc] + sum over (ky, kx) of x[.., ic] * w[0, ky, kx, oc]
 *   y[oc]   = clamp(output_offset + acc[oc] * M[oc], act_min, act_max)
 *
 * The `bias` array holds folded_bias[oc] = bias[oc] + input_offset * (sum of w[.., oc]), computed
 * once by the converter (pocketml/ops/c.py: folded_bias). A tap in the padding holds the input zero
 * point -input_offset (it adds nothing to the first sum, -input_offset * w to the second). With
 * depth multiplier 1, input, weights and output all have the channel innermost, so channels go
 * in blocks of POCKETML_DOT_BLOCK side by side (a loop compilers vectorise; the channels left over
 * form one shorter block); other depth multipliers go one output channel at a time. Outputs come
 * in raster order (pixel, then channel): the memory planner relies on it.
 * Overflow: the converter checked k_h * k_w * 255 * 127 + |bias| < 2^31, and
 * |folded_bias| + 128 * sum |w| < 2^31 for every partial sum of the second form.
 *
 * 16x8 (p->int16, TFLite's int16 activations): int16 input and output, zero points 0 (a padding
 * tap adds nothing), an int64 bias (bias64) and an int64 sum; with depth multiplier 1 and a window
 * whose products fit int32 (p->sum32), channels in blocks with int32 partial sums, else one output
 * channel at a time.
 */
#include "pocketml_dot.h"
#include "pocketml_fixedpoint.h"
#include "pocketml_window.h"
#include "depthwise_conv2d.h"

static int8_t pocketml_depthwise_requantize(const pocketml_depthwise_conv2d_params *p, int32_t acc,
                                            int32_t oc) {
  acc = pocketml_multiply_by_quantized_multiplier(acc, p->rq.multiplier[oc], p->rq.left_shift[oc],
                                                  p->rq.right_shift[oc]);
  return pocketml_clamp_int8(acc + p->rq.output_offset, p->rq.act_min, p->rq.act_max);
}

/* Depth multiplier 1: channels [c0, c0 + n) (n <= POCKETML_DOT_BLOCK) of pixel (oy, ox) side by side. */
POCKETML_KERNEL_INLINE void pocketml_depthwise_block(const pocketml_depthwise_conv2d_params *p, const int8_t *input,
                                            int32_t oy, int32_t ox, int32_t c0, int32_t n, int8_t *out) {
  const int32_t zero_point = -p->input_offset;
  const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
  int32_t acc[POCKETML_DOT_BLOCK];
  for (int32_t j = 0; j < n; ++j) {
    acc[j] = p->bias[c0 + j];
  }
  for (int32_t ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky * p->dilation_h;
    for (int32_t kx = 0; kx < p->k_w; ++kx) {
      const int32_t ix = ix0 + kx * p->dilation_w;
      const int8_t *w = p->weights + (ky * p->k_w + kx) * p->out_c + c0;
      if (pocketml_window_inside(iy, ix, p->in_h, p->in_w)) {
        const int8_t *x = input + (iy * p->in_w + ix) * p->in_c + c0;
        for (int32_t j = 0; j < n; ++j) {
          acc[j] += (int32_t)x[j] * (int32_t)w[j];
        }
      } else {
        for (int32_t j = 0; j < n; ++j) {
          acc[j] += zero_point * (int32_t)w[j];
        }
      }
    }
  }
  for (int32_t j = 0; j < n; ++j) {
    out[c0 + j] = pocketml_depthwise_requantize(p, acc[j], c0 + j);
  }
}

/* 16x8, depth multiplier 1 and p->sum32 (k_h * k_w * 32768 * 127 < 2^31): channels [c0, c0 + n) side
 * by side with int32 partial sums, the int64 bias added last (the same integer). */
static void pocketml_depthwise_block_int16(const pocketml_depthwise_conv2d_params *p, const int16_t *input,
                                           int32_t oy, int32_t ox, int32_t c0, int32_t n, int16_t *out) {
  const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
  int32_t part[POCKETML_DOT_BLOCK] = {0};
  for (int32_t ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky * p->dilation_h;
    for (int32_t kx = 0; kx < p->k_w; ++kx) {
      const int32_t ix = ix0 + kx * p->dilation_w;
      if (pocketml_window_inside(iy, ix, p->in_h, p->in_w)) {
        const int16_t *x = input + (iy * p->in_w + ix) * p->in_c + c0;
        const int8_t *w = p->weights + (ky * p->k_w + kx) * p->out_c + c0;
        for (int32_t j = 0; j < n; ++j) {
          part[j] += (int32_t)x[j] * (int32_t)w[j];
        }
      }
    }
  }
  for (int32_t j = 0; j < n; ++j) {
    out[c0 + j] = pocketml_requantize_int16(&p->rq, 1, p->bias64[c0 + j] + part[j], c0 + j);
  }
}

/* Output channel oc of pixel (oy, ox), any depth multiplier, int8 or int16 input (p->int16): the bias
 * plus every product in int64 (an int8 sum stays inside int32). A padding tap reads the zero point
 * (0 in 16x8). */
static int64_t pocketml_depthwise_channel(const pocketml_depthwise_conv2d_params *p, const void *input,
                                          int32_t oy, int32_t ox, int32_t oc) {
  const int32_t ic = oc / p->depth_multiplier;
  const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
  int64_t acc = p->int16 ? p->bias64[oc] : (int64_t)p->bias[oc];
  for (int32_t ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky * p->dilation_h;
    for (int32_t kx = 0; kx < p->k_w; ++kx) {
      const int32_t ix = ix0 + kx * p->dilation_w;
      const int32_t at = (iy * p->in_w + ix) * p->in_c + ic;
      const int32_t x = !pocketml_window_inside(iy, ix, p->in_h, p->in_w) ? -p->input_offset
                        : p->int16                                         ? ((const int16_t *)input)[at]
                                                                           : ((const int8_t *)input)[at];
      acc += x * (int32_t)p->weights[(ky * p->k_w + kx) * p->out_c + oc];
    }
  }
  return acc;
}

/* Pixel (oy, ox), every channel: with depth multiplier 1 whole blocks with a fixed trip count (the loop
 * compilers vectorise), then the channels left over as one shorter block; else one channel at a time. */
static void pocketml_depthwise_pixel(const pocketml_depthwise_conv2d_params *p, const int8_t *input,
                                     int32_t oy, int32_t ox, int8_t *out) {
  int32_t c0 = 0;
  if (p->depth_multiplier != 1) {
    for (int32_t oc = 0; oc < p->out_c; ++oc) {
      out[oc] = pocketml_depthwise_requantize(p, (int32_t)pocketml_depthwise_channel(p, input, oy, ox, oc), oc);
    }
    return;
  }
  for (; c0 + POCKETML_DOT_BLOCK <= p->out_c; c0 += POCKETML_DOT_BLOCK) {
    pocketml_depthwise_block(p, input, oy, ox, c0, POCKETML_DOT_BLOCK, out);
  }
  if (c0 < p->out_c) {
    pocketml_depthwise_block(p, input, oy, ox, c0, p->out_c - c0, out);
  }
}

/* 16x8 pixel (oy, ox): blocks where the products fit int32 partial sums, else one channel at a time. */
static void pocketml_depthwise_pixel_int16(const pocketml_depthwise_conv2d_params *p, const int16_t *input,
                                           int32_t oy, int32_t ox, int16_t *out) {
  for (int32_t c0 = 0; c0 < p->out_c; c0 += POCKETML_DOT_BLOCK) {
    const int32_t n = p->out_c - c0 < POCKETML_DOT_BLOCK ? p->out_c - c0 : POCKETML_DOT_BLOCK;
    if (p->sum32 && p->depth_multiplier == 1) {
      pocketml_depthwise_block_int16(p, input, oy, ox, c0, n, out);
      continue;
    }
    for (int32_t oc = c0; oc < c0 + n; ++oc) {
      out[oc] = pocketml_requantize_int16(&p->rq, 1, pocketml_depthwise_channel(p, input, oy, ox, oc), oc);
    }
  }
}

void pocketml_depthwise_conv2d(const pocketml_depthwise_conv2d_params *p, const void *input,
                               void *output) {
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      const int32_t at = (oy * p->out_w + ox) * p->out_c;
      if (p->int16) {
        pocketml_depthwise_pixel_int16(p, (const int16_t *)input, oy, ox, (int16_t *)output + at);
      } else {
        pocketml_depthwise_pixel(p, (const int8_t *)input, oy, ox, (int8_t *)output + at);
      }
    }
  }
}
