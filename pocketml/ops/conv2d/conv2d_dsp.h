/* CONV_2D, int8, for cores with the DSP extension (the fast twin of conv2d.c; see pocketml_dsp.h).
 *
 *   acc[p, c] = folded_bias[c] + sum over k < depth of x[p, k] * w[c, k]
 *   y[p, c]   = clamp(output_offset + acc * M[c], act_min, act_max)
 *
 * x[p, .] is output pixel p's receptive field in (ky, kx, i) order, a padding tap holding the
 * input zero point (conv2d.c's arithmetic, same bits), padded with zeros to `depth` (a multiple
 * of 4; the padded weights are 0). A matrix product, two pixels by two output channels at a time:
 *
 *   1. fill: the two pixels' fields, widened to int16 pairs, into `scratch` (depth words):
 *      word 4g+2j+q = pixel q's (x[4g+j], x[4g+j+2]) for j = 0, 1. A 1x1 convolution widens its
 *      two input rows directly; other shapes first gather the fields as int8 into `patch`.
 *   2. every channel pair: 4 accumulators, each group of 4 k is two SMLAD per accumulator with
 *      the weights stored (ops/conv2d/dsp.py: conv_weights) as
 *        wide   (speed): word 4g+2j+c' = channel c+c' (2 w[4g+j], 2 w[4g+j+2]) as int16 pairs,
 *                        doubled (as are the biases) for the requantization's SMMULR;
 *        narrow (size):  word 2g+c'    = channel c+c' (w[4g] .. w[4g+3]) as int8, widened here.
 *   3. requantize and store both pixels' channels.
 * An odd pixel count ends with a pixel paired with itself; an odd channel count has a zero
 * channel appended to the weights and table, never stored. Outputs of a pixel pair are written
 * after both pixels were read, in raster order: the memory planner's in-place shift holds.
 * A max pool in the epilogue (pool.h > 0, as in conv2d.c): the pixel pairs are the conv pixels of
 * one pool window (inside the map); each pair's requantized values are stored into the window's
 * output pixel, the first one as is, the next ones kept where larger. Pixel q's output bytes are
 * written only while q's window reads: the raster shift holds.
 * Overflow: as conv2d.c, plus the requantization bounds of pocketml_dsp.h (checked by the
 * converter).
 */
#ifndef POCKETML_CONV2D_DSP_H
#define POCKETML_CONV2D_DSP_H

#include "pocketml_dsp.h"
#include "pocketml_window.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
  int32_t stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  int32_t depth;      /* k_h * k_w * in_c rounded up to a multiple of 4 */
  int32_t zero_point; /* the input zero point: what a padding tap holds */
  int32_t act_min, act_max;
  int32_t direct;     /* 1: a 1x1 kernel, no padding, in_c % 4 == 0: widen input rows directly */
  const int32_t *weights;
  const pocketml_dsp_channel *channels; /* [out_c rounded up to even] */
  int32_t *scratch;   /* depth words: two pixels' fields as int16 pairs */
  int8_t *patch;      /* 2 * depth bytes (general shapes only) */
  /* a max pool in the epilogue (pool.h 0: none); out_h x out_w is then the conv's map, never stored */
  pocketml_window_pool pool;
} pocketml_conv2d_dsp_params;

/* Widen `groups` words of four int8 from a (pixel 0) and b (pixel 1) into the scratch layout. */
POCKETML_INLINE void pocketml_conv2d_dsp_widen(const int8_t *a, const int8_t *b, int32_t groups,
                                               int32_t *buf) {
  for (int32_t g = 0; g < groups; ++g, a += 4, b += 4, buf += 4) {
    const int32_t xa = pocketml_read_s8x4(a), xb = pocketml_read_s8x4(b);
    buf[0] = __sxtb16(xa);
    buf[1] = __sxtb16(xb);
    buf[2] = pocketml_sxtb16_ror8(xa);
    buf[3] = pocketml_sxtb16_ror8(xb);
  }
}

/* Output pixel `pix`'s receptive field as int8 into dst (k_h * k_w * in_c bytes, HWI order). */
POCKETML_INLINE void pocketml_conv2d_dsp_gather(const pocketml_conv2d_dsp_params *p,
                                                const int8_t *input, int32_t pix, int8_t *dst) {
  const int32_t oy = pix / p->out_w, ox = pix % p->out_w;
  const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
  for (int32_t ky = 0; ky < p->k_h; ++ky) {
    const int32_t iy = iy0 + ky * p->dilation_h;
    for (int32_t kx = 0; kx < p->k_w; ++kx, dst += p->in_c) {
      const int32_t ix = ix0 + kx * p->dilation_w;
      if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
        memset(dst, p->zero_point, (size_t)p->in_c);
      } else {
        memcpy(dst, input + (iy * p->in_w + ix) * p->in_c, (size_t)p->in_c);
      }
    }
  }
}

/* Step 1 for pixels pix0 and pix1 (equal for a lone last pixel). */
POCKETML_INLINE void pocketml_conv2d_dsp_fill(const pocketml_conv2d_dsp_params *p,
                                              const int8_t *input, int32_t pix0, int32_t pix1) {
  if (p->direct) {
    const int32_t row = p->out_w;
    const int32_t in0 = (pix0 / row) * p->stride_h * p->in_w + (pix0 % row) * p->stride_w;
    const int32_t in1 = (pix1 / row) * p->stride_h * p->in_w + (pix1 % row) * p->stride_w;
    pocketml_conv2d_dsp_widen(input + in0 * p->in_c, input + in1 * p->in_c, p->depth / 4,
                              p->scratch);
    return;
  }
  pocketml_conv2d_dsp_gather(p, input, pix0, p->patch);
  pocketml_conv2d_dsp_gather(p, input, pix1, p->patch + p->depth);
  pocketml_conv2d_dsp_widen(p->patch, p->patch + p->depth, p->depth / 4, p->scratch);
}

/* 4 k of the two pixels (the words at *x) times 4 k of two channels (at *w); both move on. */
POCKETML_INLINE void pocketml_conv2d_dsp_mac(int32_t wide, const int32_t **x, const int32_t **w,
                                             int32_t acc[4]) {
  int32_t x0e, x1e, x0o, x1o, w0e, w1e, w0o, w1o;
  pocketml_load2(x, &x0e, &x1e);
  pocketml_load2(x, &x0o, &x1o);
  if (wide) {
    pocketml_load2(w, &w0e, &w1e);
    pocketml_load2(w, &w0o, &w1o);
  } else {
    int32_t w0, w1;
    pocketml_load2(w, &w0, &w1);
    w0e = __sxtb16(w0), w1e = __sxtb16(w1);
    w0o = pocketml_sxtb16_ror8(w0), w1o = pocketml_sxtb16_ror8(w1);
  }
  acc[0] = __smlad(x0e, w0e, acc[0]);
  acc[1] = __smlad(x0e, w1e, acc[1]);
  acc[2] = __smlad(x1e, w0e, acc[2]);
  acc[3] = __smlad(x1e, w1e, acc[3]);
  acc[0] = __smlad(x0o, w0o, acc[0]);
  acc[1] = __smlad(x0o, w1o, acc[1]);
  acc[2] = __smlad(x1o, w0o, acc[2]);
  acc[3] = __smlad(x1o, w1o, acc[3]);
}

/* Steps 2 and 3 for the pixel pair in the scratch: out0 (and out1 when `both`) get all channels;
 * merge bit 0 (out0) and bit 1 (out1): keep the larger of the stored and the new value. */
POCKETML_INLINE void pocketml_conv2d_dsp_channels(const pocketml_conv2d_dsp_params *p, int32_t wide,
                                                  int8_t *out0, int8_t *out1, int32_t both, int32_t merge) {
  const int32_t *w = p->weights;
  const pocketml_dsp_channel *ch = p->channels;
  const int32_t groups = p->depth / 4;
  for (int32_t c = 0; c < p->out_c; c += 2, ch += 2) {
    int32_t acc[4] = {ch[0].bias, ch[1].bias, ch[0].bias, ch[1].bias}; /* p0c0, p0c1, p1c0, p1c1 */
    const int32_t *x = p->scratch;
    int32_t g = 0;
    for (; g + 1 < groups; g += 2) { /* two groups a turn: half the loop overhead */
      pocketml_conv2d_dsp_mac(wide, &x, &w, acc);
      pocketml_conv2d_dsp_mac(wide, &x, &w, acc);
    }
    if (g < groups) {
      pocketml_conv2d_dsp_mac(wide, &x, &w, acc);
    }
    pocketml_window_max_store(out0 + c, pocketml_dsp_requantize(acc[0], &ch[0], p->act_min, p->act_max, wide),
                              merge & 1);
    if (both) {
      pocketml_window_max_store(out1 + c, pocketml_dsp_requantize(acc[2], &ch[0], p->act_min, p->act_max, wide),
                                merge & 2);
    }
    if (c + 1 < p->out_c) {
      pocketml_window_max_store(out0 + c + 1,
                                pocketml_dsp_requantize(acc[1], &ch[1], p->act_min, p->act_max, wide), merge & 1);
      if (both) {
        pocketml_window_max_store(out1 + c + 1,
                                  pocketml_dsp_requantize(acc[3], &ch[1], p->act_min, p->act_max, wide), merge & 2);
      }
    }
  }
}

/* The fused max pool: each output pixel from its window's conv pixels, two at a time. */
POCKETML_INLINE void pocketml_conv2d_dsp_pooled(const pocketml_conv2d_dsp_params *p, int32_t wide,
                                                const int8_t *input, int8_t *output) {
  for (int32_t py = 0; py < p->pool.out_h; ++py) {
    for (int32_t px = 0; px < p->pool.out_w; ++px) {
      const pocketml_window_box box = pocketml_window_pool_box(&p->pool, py, px, p->out_h, p->out_w);
      const int32_t taps = box.rows * box.cols;
      int8_t *out = output + (py * p->pool.out_w + px) * p->out_c;
      for (int32_t k = 0; k < taps; k += 2) { /* the window's conv pixels two at a time */
        const int32_t both = k + 1 < taps, k1 = both ? k + 1 : k;
        const int32_t pix0 = (box.y + k / box.cols) * p->out_w + box.x + k % box.cols;
        const int32_t pix1 = (box.y + k1 / box.cols) * p->out_w + box.x + k1 % box.cols;
        pocketml_conv2d_dsp_fill(p, input, pix0, pix1);
        pocketml_conv2d_dsp_channels(p, wide, out, out, both, (k == 0 ? 0 : 1) | (both ? 2 : 0));
      }
    }
  }
}

/* wide: 1 for a layer built for speed (int16 weights), 0 for size; a constant at every call. */
POCKETML_INLINE void pocketml_conv2d_dsp_body(const pocketml_conv2d_dsp_params *p, int32_t wide,
                                              const int8_t *input, int8_t *output) {
  const int32_t pixels = p->out_h * p->out_w;
  if (!p->direct) { /* the zero tail of each field (padded depth) */
    const int32_t taps = p->k_h * p->k_w * p->in_c;
    memset(p->patch + taps, 0, (size_t)(p->depth - taps));
    memset(p->patch + p->depth + taps, 0, (size_t)(p->depth - taps));
  }
  if (p->pool.h) {
    pocketml_conv2d_dsp_pooled(p, wide, input, output);
    return;
  }
  int32_t pix = 0;
  for (; pix + 1 < pixels; pix += 2) {
    pocketml_conv2d_dsp_fill(p, input, pix, pix + 1);
    pocketml_conv2d_dsp_channels(p, wide, output + pix * p->out_c, output + (pix + 1) * p->out_c, 1, 0);
  }
  if (pix < pixels) {
    pocketml_conv2d_dsp_fill(p, input, pix, pix);
    pocketml_conv2d_dsp_channels(p, wide, output + pix * p->out_c, output + pix * p->out_c, 0, 0);
  }
}

/* The out-of-line kernel (conv2d_dsp.c): one copy for every layer, when built for size. */
void pocketml_conv2d_dsp(const pocketml_conv2d_dsp_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_CONV2D_DSP_H */
