/* CONV_2D, int8 (the C twin of pocketml/ops/conv2d/op.py).
 *
 *   acc[c] = bias[c] + sum over (ky, kx, i) of (x + input_offset) * w[ky, kx, i, c]
 *          = folded_bias[c] + sum over (ky, kx, i) of x * w[ky, kx, i, c]
 *   y[c]   = clamp(output_offset + acc[c] * M[c], act_min, act_max)
 *
 * The `bias` array holds folded_bias[c] = bias[c] + input_offset * (sum of w[.., c]), computed
 * once by the converter (pocketml/ops/c.py: folded_bias). A tap in the padding holds the input zero
 * point -input_offset: it adds nothing to the first sum and -input_offset * w to the second.
 * Weights are stored HWIO (output channel innermost; the converter transposes TFLite's OHWI), so
 * each input value x multiplies POCKETML_DOT_BLOCK neighbouring weights into as many
 * accumulators: a loop compilers vectorise. Channels past the last whole block go one by one.
 * Outputs come in raster order (pixel, then channel): the memory planner relies on it for convs
 * that write over their own input.
 * A max pool in the epilogue (pool_h > 0; op.py PoolEpilogue): output pixel (py, px) is the largest
 * of the conv pixels in its pool window inside the map, each requantized then compared: the first
 * one written, the next ones kept where larger. The conv's map (out_h x out_w) never exists; the
 * output (pooled_h x pooled_w) is written in raster order, pixel q's bytes only while q reads.
 * Overflow: |x + input_offset| <= 255, |w| <= 127; the converter checked
 * k_h * k_w * in_c * 255 * 127 + |bias| < 2^31, and |folded_bias| + 128 * sum |w| < 2^31 for every
 * partial sum of the second form.
 *
 * 16x8 (p->int16, TFLite's int16 activations): int16 input and output, zero points 0 (a padding
 * tap adds nothing, the bias is not folded); the sum is int64 from an int64 bias (bias64) or int32
 * from an int32 one (the converter checked k_h * k_w * in_c * 32768 * 127 + |bias| < 2^31, so an
 * int64 sum holds the same integer). Where the products alone fit int32 (p->sum32), channels go in
 * blocks as above with int32 partial sums; otherwise one channel at a time in int64.
 */
#include "pocketml_dot.h"
#include "pocketml_fixedpoint.h"
#include "conv2d.h"

static int8_t pocketml_conv2d_requantize(const pocketml_conv2d_params *p, int32_t acc, int32_t oc) {
  acc = pocketml_multiply_by_quantized_multiplier(acc, p->rq.multiplier[oc], p->rq.left_shift[oc],
                                                  p->rq.right_shift[oc]);
  return pocketml_clamp_int8(acc + p->rq.output_offset, p->rq.act_min, p->rq.act_max);
}

/* 16x8, products summed in int32 (p->sum32: the converter checked k_h * k_w * in_c * 32768 * 127 <
 * 2^31), channels in blocks as the int8 loop, the int64 bias added last: the same integer as an int64
 * sum, since no partial sum overflows. */
static void pocketml_conv2d_int16_blocked(const pocketml_conv2d_params *p, const int16_t *input,
                                          int16_t *output) {
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
      int16_t *out = output + (oy * p->out_w + ox) * p->out_c;
      for (int32_t c0 = 0; c0 < p->out_c; c0 += POCKETML_DOT_BLOCK) {
        const int32_t n = p->out_c - c0 < POCKETML_DOT_BLOCK ? p->out_c - c0 : POCKETML_DOT_BLOCK;
        int32_t part[POCKETML_DOT_BLOCK] = {0};
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
          const int32_t iy = iy0 + ky * p->dilation_h;
          for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dilation_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
              continue;
            }
            {
              const int16_t *x = input + (iy * p->in_w + ix) * p->in_c;
              const int8_t *w = p->weights + (ky * p->k_w + kx) * p->in_c * p->out_c + c0;
              for (int32_t i = 0; i < p->in_c; ++i, w += p->out_c) {
                const int32_t xi = x[i];
                for (int32_t j = 0; j < n; ++j) {
                  part[j] += xi * (int32_t)w[j];
                }
              }
            }
          }
        }
        for (int32_t j = 0; j < n; ++j) {
          const int64_t bias = p->bias64 != 0 ? p->bias64[c0 + j] : (int64_t)p->bias[c0 + j];
          out[c0 + j] = pocketml_requantize_int16(&p->rq, p->bias64 != 0, bias + part[j], c0 + j);
        }
      }
    }
  }
}

/* 16x8, every product summed in int64 (a window too deep for int32 partial sums). */
static void pocketml_conv2d_int16(const pocketml_conv2d_params *p, const int16_t *input, int16_t *output) {
  if (p->sum32) {
    pocketml_conv2d_int16_blocked(p, input, output);
    return;
  }
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
      int16_t *out = output + (oy * p->out_w + ox) * p->out_c;
      for (int32_t oc = 0; oc < p->out_c; ++oc) {
        int64_t acc = p->bias64 != 0 ? p->bias64[oc] : (int64_t)p->bias[oc];
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
          const int32_t iy = iy0 + ky * p->dilation_h;
          for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dilation_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
              continue;
            }
            {
              const int16_t *x = input + (iy * p->in_w + ix) * p->in_c;
              const int8_t *w = p->weights + (ky * p->k_w + kx) * p->in_c * p->out_c + oc;
              for (int32_t i = 0; i < p->in_c; ++i) {
                acc += (int32_t)x[i] * (int32_t)w[i * p->out_c];
              }
            }
          }
        }
        out[oc] = pocketml_requantize_int16(&p->rq, p->bias64 != 0, acc, oc);
      }
    }
  }
}

/* Store v at *out; merge: keep *out where it is larger (the fused max pool). */
static inline void pocketml_conv2d_store(int8_t *out, int8_t v, int merge) {
  *out = merge && *out > v ? *out : v;
}

/* The conv's pixel (oy, ox), every channel, into out (merge: keep the larger of out and the value). */
static inline void pocketml_conv2d_pixel(const pocketml_conv2d_params *p, const int8_t *input, int32_t oy,
                                         int32_t ox, int8_t *out, int merge) {
  const int32_t zero_point = -p->input_offset;
  const int32_t blocked = p->out_c - p->out_c % POCKETML_DOT_BLOCK; /* channels in whole blocks */
  const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
  for (int32_t c0 = 0; c0 < blocked; c0 += POCKETML_DOT_BLOCK) {
    int32_t acc[POCKETML_DOT_BLOCK];
    for (int32_t j = 0; j < POCKETML_DOT_BLOCK; ++j) {
      acc[j] = p->bias[c0 + j];
    }
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
      const int32_t iy = iy0 + ky * p->dilation_h;
      for (int32_t kx = 0; kx < p->k_w; ++kx) {
        const int32_t ix = ix0 + kx * p->dilation_w;
        const int inside = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
        const int8_t *x = inside ? input + (iy * p->in_w + ix) * p->in_c : input;
        const int8_t *w = p->weights + (ky * p->k_w + kx) * p->in_c * p->out_c + c0;
        for (int32_t i = 0; i < p->in_c; ++i, w += p->out_c) {
          const int32_t xi = inside ? (int32_t)x[i] : zero_point;
          for (int32_t j = 0; j < POCKETML_DOT_BLOCK; ++j) {
            acc[j] += xi * (int32_t)w[j];
          }
        }
      }
    }
    for (int32_t j = 0; j < POCKETML_DOT_BLOCK; ++j) {
      pocketml_conv2d_store(out + c0 + j, pocketml_conv2d_requantize(p, acc[j], c0 + j), merge);
    }
  }
  for (int32_t oc = blocked; oc < p->out_c; ++oc) {
    int32_t acc = p->bias[oc];
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
      const int32_t iy = iy0 + ky * p->dilation_h;
      for (int32_t kx = 0; kx < p->k_w; ++kx) {
        const int32_t ix = ix0 + kx * p->dilation_w;
        const int inside = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
        const int8_t *x = inside ? input + (iy * p->in_w + ix) * p->in_c : input;
        const int8_t *w = p->weights + (ky * p->k_w + kx) * p->in_c * p->out_c + oc;
        for (int32_t i = 0; i < p->in_c; ++i) {
          acc += (inside ? (int32_t)x[i] : zero_point) * (int32_t)w[i * p->out_c];
        }
      }
    }
    pocketml_conv2d_store(out + oc, pocketml_conv2d_requantize(p, acc, oc), merge);
  }
}

static void pocketml_conv2d_int8(const pocketml_conv2d_params *p, const int8_t *input, int8_t *output) {
  if (p->pool_h == 0) {
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        pocketml_conv2d_pixel(p, input, oy, ox, output + (oy * p->out_w + ox) * p->out_c, 0);
      }
    }
    return;
  }
  for (int32_t py = 0; py < p->pooled_h; ++py) {
    const int32_t y0 = py * p->pool_stride_h - p->pool_pad_top;
    const int32_t ya = y0 < 0 ? 0 : y0, yb = y0 + p->pool_h < p->out_h ? y0 + p->pool_h : p->out_h;
    for (int32_t px = 0; px < p->pooled_w; ++px) {
      const int32_t x0 = px * p->pool_stride_w - p->pool_pad_left;
      const int32_t xa = x0 < 0 ? 0 : x0, xb = x0 + p->pool_w < p->out_w ? x0 + p->pool_w : p->out_w;
      int8_t *out = output + (py * p->pooled_w + px) * p->out_c;
      for (int32_t oy = ya; oy < yb; ++oy) {
        for (int32_t ox = xa; ox < xb; ++ox) {
          pocketml_conv2d_pixel(p, input, oy, ox, out, oy != ya || ox != xa);
        }
      }
    }
  }
}

void pocketml_conv2d(const pocketml_conv2d_params *p, const void *input, void *output) {
  if (p->int16) {
    pocketml_conv2d_int16(p, (const int16_t *)input, (int16_t *)output);
  } else {
    pocketml_conv2d_int8(p, (const int8_t *)input, (int8_t *)output);
  }
}
