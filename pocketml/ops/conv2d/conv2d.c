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
 * accumulators: a loop compilers vectorise. Channels past the last whole block form one shorter block.
 * Outputs come in raster order (pixel, then channel): the memory planner relies on it for convs
 * that write over their own input.
 * A max pool in the epilogue (pool.h > 0; op.py PoolEpilogue): output pixel (py, px) is the largest
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
 * int64 sum holds the same integer). Channels go in blocks as above; where the products alone fit
 * int32 (p->sum32), each tap's products are summed in int32 before joining the int64 sum.
 */
#include "pocketml_dot.h"
#include "pocketml_fixedpoint.h"
#include "pocketml_window.h"
#include "conv2d.h"

static int8_t pocketml_conv2d_requantize(const pocketml_conv2d_params *p, int32_t acc, int32_t oc) {
  acc = pocketml_multiply_by_quantized_multiplier(acc, p->rq.multiplier[oc], p->rq.left_shift[oc],
                                                  p->rq.right_shift[oc]);
  return pocketml_clamp_int8(acc + p->rq.output_offset, p->rq.act_min, p->rq.act_max);
}

/* Channels [c0, c0 + n) (n <= POCKETML_DOT_BLOCK) of the conv's pixel (oy, ox) into out (merge: keep
 * the larger of out and the value). A padding tap reads the zero point. */
static inline void pocketml_conv2d_block(const pocketml_conv2d_params *p, const int8_t *input, int32_t oy,
                                         int32_t ox, int32_t c0, int32_t n, int8_t *out, int merge) {
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
      const int inside = pocketml_window_inside(iy, ix, p->in_h, p->in_w);
      const int8_t *x = inside ? input + (iy * p->in_w + ix) * p->in_c : input;
      const int8_t *w = p->weights + (ky * p->k_w + kx) * p->in_c * p->out_c + c0;
      for (int32_t i = 0; i < p->in_c; ++i, w += p->out_c) {
        const int32_t xi = inside ? (int32_t)x[i] : zero_point;
        for (int32_t j = 0; j < n; ++j) {
          acc[j] += xi * (int32_t)w[j];
        }
      }
    }
  }
  for (int32_t j = 0; j < n; ++j) {
    pocketml_window_max_store(out + c0 + j, pocketml_conv2d_requantize(p, acc[j], c0 + j), merge);
  }
}

/* The conv's pixel (oy, ox), every channel, into out: whole blocks with a fixed trip count (the loop
 * compilers vectorise), then the channels left over as one shorter block. */
static void pocketml_conv2d_pixel(const pocketml_conv2d_params *p, const int8_t *input, int32_t oy, int32_t ox,
                                  int8_t *out, int merge) {
  int32_t c0 = 0;
  for (; c0 + POCKETML_DOT_BLOCK <= p->out_c; c0 += POCKETML_DOT_BLOCK) {
    pocketml_conv2d_block(p, input, oy, ox, c0, POCKETML_DOT_BLOCK, out, merge);
  }
  if (c0 < p->out_c) {
    pocketml_conv2d_block(p, input, oy, ox, c0, p->out_c - c0, out, merge);
  }
}

/* 16x8: channels [c0, c0 + n) (n <= POCKETML_DOT_BLOCK) of pixel (oy, ox) into out. A padding tap
 * adds nothing (zero point 0). With p->sum32 each tap's products are summed in int32 and added to the
 * int64 sum (no partial sum overflows: the same integer); otherwise every product goes in int64. */
static void pocketml_conv2d_int16_block(const pocketml_conv2d_params *p, const int16_t *input, int32_t oy,
                                        int32_t ox, int32_t c0, int32_t n, int16_t *out) {
  const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
  int64_t acc[POCKETML_DOT_BLOCK];
  for (int32_t j = 0; j < n; ++j) {
    acc[j] = p->bias64 != 0 ? p->bias64[c0 + j] : (int64_t)p->bias[c0 + j];
  }
  for (int32_t ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky * p->dilation_h;
    for (int32_t kx = 0; kx < p->k_w; ++kx) {
      const int32_t ix = ix0 + kx * p->dilation_w;
      if (!pocketml_window_inside(iy, ix, p->in_h, p->in_w)) {
        continue;
      }
      const int16_t *x = input + (iy * p->in_w + ix) * p->in_c;
      const int8_t *w = p->weights + (ky * p->k_w + kx) * p->in_c * p->out_c + c0;
      if (p->sum32) {
        int32_t part[POCKETML_DOT_BLOCK] = {0};
        for (int32_t i = 0; i < p->in_c; ++i, w += p->out_c) {
          for (int32_t j = 0; j < n; ++j) {
            part[j] += (int32_t)x[i] * (int32_t)w[j];
          }
        }
        for (int32_t j = 0; j < n; ++j) {
          acc[j] += part[j];
        }
      } else {
        for (int32_t i = 0; i < p->in_c; ++i, w += p->out_c) {
          for (int32_t j = 0; j < n; ++j) {
            acc[j] += (int32_t)x[i] * (int32_t)w[j];
          }
        }
      }
    }
  }
  for (int32_t j = 0; j < n; ++j) {
    out[c0 + j] = pocketml_requantize_int16(&p->rq, p->bias64 != 0, acc[j], c0 + j);
  }
}

static void pocketml_conv2d_int16(const pocketml_conv2d_params *p, const int16_t *input, int16_t *output) {
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      int16_t *out = output + (oy * p->out_w + ox) * p->out_c;
      for (int32_t c0 = 0; c0 < p->out_c; c0 += POCKETML_DOT_BLOCK) {
        const int32_t n = p->out_c - c0 < POCKETML_DOT_BLOCK ? p->out_c - c0 : POCKETML_DOT_BLOCK;
        pocketml_conv2d_int16_block(p, input, oy, ox, c0, n, out);
      }
    }
  }
}

static void pocketml_conv2d_int8(const pocketml_conv2d_params *p, const int8_t *input, int8_t *output) {
  if (p->pool.h == 0) {
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        pocketml_conv2d_pixel(p, input, oy, ox, output + (oy * p->out_w + ox) * p->out_c, 0);
      }
    }
    return;
  }
  for (int32_t py = 0; py < p->pool.out_h; ++py) {
    for (int32_t px = 0; px < p->pool.out_w; ++px) {
      const pocketml_window_box box = pocketml_window_pool_box(&p->pool, py, px, p->out_h, p->out_w);
      int8_t *out = output + (py * p->pool.out_w + px) * p->out_c;
      for (int32_t oy = box.y; oy < box.y + box.rows; ++oy) {
        for (int32_t ox = box.x; ox < box.x + box.cols; ++ox) {
          pocketml_conv2d_pixel(p, input, oy, ox, out, oy != box.y || ox != box.x);
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
