/* DEPTHWISE_CONV_2D, int8, depth multiplier 1, for cores with the DSP extension (the fast twin of
 * depthwise_conv2d.c; see pocketml_dsp.h).
 *
 *   acc[c] = folded_bias[c] + sum over (ky, kx) of x[iy, ix, c] * w[ky, kx, c]
 *   y[c]   = clamp(output_offset + acc[c] * M[c], act_min, act_max)
 *
 * The input rows a row of outputs reads are kept, widened to int16 pairs and padded with the
 * input zero point (a padding tap: depthwise_conv2d.c's arithmetic, same bits), in a slab of
 * (k_h - 1) * dilation_h + 1 rows: every input row is read and widened once (the rows the next
 * output row reuses move up, a memmove), and every tap is then an inside tap at a constant
 * offset from the output pixel's position. A slab row holds `slot_w` pixels; pixel j, channel
 * group g (channels 4g .. 4g+3) is two words: (x[4g], x[4g+2]) and (x[4g+1], x[4g+3]).
 * Per output pixel and channel group, each tap is two SMLABB and two SMLATT with the weights
 * stored (ops/depthwise_conv2d/dsp.py) per group and tap as
 *   wide   (speed): (2 w[4g], 2 w[4g+2]), (2 w[4g+1], 2 w[4g+3]) as int16 pairs, doubled (as are
 *                   the biases) for the requantization's SMMULR;
 *   narrow (size):  w[4g] .. w[4g+3] as int8, widened here.
 * Needs channels % 4 == 0 (the converter picks the portable kernel otherwise). Outputs come in
 * raster order, and an input row is read (into its slot) before any output that could lie over
 * it is written: the memory planner's in-place shift holds.
 * Channel blocks: the layer runs in passes of `block` channels (a multiple of 4 dividing
 * `channels`; = channels: one pass), the slab holding one block, so the scratch shrinks by
 * channels / block. Output channel c is written only over input channel c's bytes when the output
 * lies exactly over the input (the planner's shift of 0, the only in-place shift it gives a blocked
 * layer), so a later pass never reads a byte an earlier pass wrote.
 * Overflow: as depthwise_conv2d.c, plus the requantization bounds of pocketml_dsp.h (checked by
 * the converter). *
 * 16x8 (p->int16: int16 input and output, zero points 0, an int64 bias;
 * pocketml_depthwise_dsp_int16): per output pixel the taps' input pixels are looked up once
 * (NULL: a padding tap, adding nothing), then per group of 4 channels the taps go in pairs
 * (t, t+1): each channel's two values packed into one word (PKHBT/PKHTB) for one SMLAD against
 * the weights stored (ops/depthwise_conv2d/dsp.py: depthwise_weights_int16) per group and tap pair as
 *   wide   (speed): per channel c' (w[t, 4g+c'], w[t+1, 4g+c']) as int16 pairs;
 *   narrow (size):  per channel pair h  w[t, 4g+2h], w[t, 4g+2h+1], w[t+1, 4g+2h], w[t+1, 4g+2h+1]
 *                   as int8, widened here (SXTB16: channel 4g+2h, with its rotate: 4g+2h+1).
 * An odd tap count has a zero tap appended. The taps' products are summed in int32 (the converter
 * checked taps <= POCKETML_DW16_TAPS: 64 * 2^22 < 2^31), then added to the int64 bias: the integer
 * depthwise_conv2d.c sums, requantized by pocketml_requantize_int16.
 */
#ifndef POCKETML_DEPTHWISE_CONV2D_DSP_H
#define POCKETML_DEPTHWISE_CONV2D_DSP_H

#include "pocketml_dsp.h"
#include "pocketml_requant.h"
#include "pocketml_window.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t in_h, in_w, channels, out_h, out_w, k_h, k_w;
  int32_t stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  int32_t slot_w;     /* pixels in a slot: pad_left + in_w + the right padding the taps reach */
  int32_t block;      /* channels per pass (a multiple of 4 dividing channels) */
  int32_t zero_point; /* the input zero point: what the padding holds */
  int32_t act_min, act_max;
  const int32_t *weights;
  const pocketml_dsp_channel *table; /* [channels] */
  int32_t *slab;      /* ((k_h - 1) * dilation_h + 1) * slot_w * block / 2 words */
  int32_t int16;              /* 1: 16x8 (int16 input and output; table and slab unused) */
  const int64_t *bias64;      /* 16x8: [channels] */
  pocketml_requant rq;        /* 16x8: the portable kernel's requantization */
} pocketml_depthwise_conv2d_dsp_params;

#define POCKETML_DW16_TAPS 64 /* 16x8: the most taps a window may have (int32 sums, the tap table) */

/* 16x8: channels 4g .. 4g+3 of the input pixel at x (NULL: zeros) as two words. */
POCKETML_INLINE void pocketml_depthwise_dsp_read16(const int16_t *x, int32_t *lo, int32_t *hi) {
  if (x == NULL) {
    *lo = 0;
    *hi = 0;
    return;
  }
  *lo = pocketml_read_s16x2(x);
  *hi = pocketml_read_s16x2(x + 2);
}

/* 16x8: a tap pair's products into four channels' int32 sums; a, b: the taps' input pixels (NULL:
 * nothing), at the group's first channel; the weights at *w (moved on). */
POCKETML_INLINE void pocketml_depthwise_dsp_pair16(int32_t wide, const int32_t **w, const int16_t *a,
                                                   const int16_t *b, int32_t *part) {
  int32_t a01, a23, b01, b23, w0, w1, w2, w3;
  pocketml_depthwise_dsp_read16(a, &a01, &a23);
  pocketml_depthwise_dsp_read16(b, &b01, &b23);
  if (wide) {
    pocketml_load2(w, &w0, &w1);
    pocketml_load2(w, &w2, &w3);
  } else {
    const int32_t n0 = *(*w)++, n1 = *(*w)++;
    w0 = __sxtb16(n0);
    w1 = pocketml_sxtb16_ror8(n0);
    w2 = __sxtb16(n1);
    w3 = pocketml_sxtb16_ror8(n1);
  }
  /* channel c's (a[c], b[c]): PKHBT for the low lane of a word, PKHTB for the high one */
  part[0] = __smlad((int32_t)(((uint32_t)a01 & 0xFFFFu) | ((uint32_t)b01 << 16)), w0, part[0]);
  part[1] = __smlad((int32_t)(((uint32_t)a01 >> 16) | ((uint32_t)b01 & 0xFFFF0000u)), w1, part[1]);
  part[2] = __smlad((int32_t)(((uint32_t)a23 & 0xFFFFu) | ((uint32_t)b23 << 16)), w2, part[2]);
  part[3] = __smlad((int32_t)(((uint32_t)a23 >> 16) | ((uint32_t)b23 & 0xFFFF0000u)), w3, part[3]);
}

/* 16x8: every output pixel in raster order, its channels 4 at a time. */
POCKETML_INLINE void pocketml_depthwise_dsp_int16(const pocketml_depthwise_conv2d_dsp_params *p, int32_t wide,
                                                  const int16_t *input, int16_t *output) {
  const int32_t taps = p->k_h * p->k_w, pairs = (taps + 1) / 2;
  const int16_t *at[POCKETML_DW16_TAPS + 1];
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
      for (int32_t t = 0; t < taps; ++t) {
        const int32_t iy = iy0 + (t / p->k_w) * p->dilation_h, ix = ix0 + (t % p->k_w) * p->dilation_w;
        at[t] = pocketml_window_inside(iy, ix, p->in_h, p->in_w) ? input + (iy * p->in_w + ix) * p->channels
                                                                 : NULL;
      }
      at[taps] = NULL; /* an odd count's zero tap */
      int16_t *out = output + (oy * p->out_w + ox) * p->channels;
      const int32_t *w = p->weights;
      for (int32_t c = 0; c < p->channels; c += 4) {
        int32_t part[4] = {0, 0, 0, 0};
        POCKETML_UNROLL
        for (int32_t k = 0; k < pairs; ++k) {
          const int16_t *a = at[2 * k], *b = at[2 * k + 1];
          pocketml_depthwise_dsp_pair16(wide, &w, a != NULL ? a + c : NULL, b != NULL ? b + c : NULL, part);
        }
        for (int32_t j = 0; j < 4; ++j) {
          out[c + j] = pocketml_requantize_int16(&p->rq, 1, p->bias64[c + j] + part[j], c + j);
        }
      }
    }
  }
}

/* Input row iy (padding rows: the zero point) widened into its slot. */
POCKETML_INLINE void pocketml_depthwise_dsp_load_row(const pocketml_depthwise_conv2d_dsp_params *p,
                                                     const int8_t *input, int32_t iy,
                                                     int32_t *slot) {
  const int32_t zp = (int32_t)((uint32_t)(p->zero_point & 0xFFFF) * 0x10001u); /* in both int16 lanes */
  const int32_t words = p->block / 2;                      /* per pixel */
  const int32_t inside = iy >= 0 && iy < p->in_h;
  for (int32_t j = 0; j < p->slot_w; ++j) {
    const int32_t ix = j - p->pad_left;
    if (!inside || ix < 0 || ix >= p->in_w) {
      for (int32_t k = 0; k < words; ++k) {
        slot[j * words + k] = zp;
      }
      continue;
    }
    const int8_t *x = input + (iy * p->in_w + ix) * p->channels;
    int32_t *dst = slot + j * words;
    for (int32_t c = 0; c < p->block; c += 4, dst += 2) {
      const int32_t v = pocketml_read_s8x4(x + c);
      dst[0] = __sxtb16(v);
      dst[1] = pocketml_sxtb16_ror8(v);
    }
  }
}

/* One output pixel's channels c0 .. c0 + block - 1: x points at its top-left tap in the slab, out
 * at the pixel's channel c0. */
POCKETML_INLINE void pocketml_depthwise_dsp_pixel(const pocketml_depthwise_conv2d_dsp_params *p,
                                                  int32_t wide, const int32_t *x, int8_t *out, int32_t c0) {
  const int32_t words = p->block / 2; /* per slab pixel */
  const int32_t *w = p->weights + (c0 / 4) * p->k_h * p->k_w * (wide ? 2 : 1);
  const pocketml_dsp_channel *ch = p->table + c0;
  for (int32_t c = 0; c < p->block; c += 4, ch += 4, x += 2) {
    int32_t a0 = ch[0].bias, a1 = ch[1].bias, a2 = ch[2].bias, a3 = ch[3].bias;
    POCKETML_UNROLL
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
      POCKETML_UNROLL
      for (int32_t kx = 0; kx < p->k_w; ++kx) {
        const int32_t *tap = x + (ky * p->dilation_h * p->slot_w + kx * p->dilation_w) * words;
        int32_t we, wo;
        if (wide) {
          pocketml_load2(&w, &we, &wo);
        } else {
          const int32_t v = *w++;
          we = __sxtb16(v);
          wo = pocketml_sxtb16_ror8(v);
        }
        const int32_t xe = tap[0], xo = tap[1];
        a0 = __smlabb(xe, we, a0);
        a2 = __smlatt(xe, we, a2);
        a1 = __smlabb(xo, wo, a1);
        a3 = __smlatt(xo, wo, a3);
      }
    }
    out[c] = pocketml_dsp_requantize(a0, &ch[0], p->act_min, p->act_max, wide);
    out[c + 1] = pocketml_dsp_requantize(a1, &ch[1], p->act_min, p->act_max, wide);
    out[c + 2] = pocketml_dsp_requantize(a2, &ch[2], p->act_min, p->act_max, wide);
    out[c + 3] = pocketml_dsp_requantize(a3, &ch[3], p->act_min, p->act_max, wide);
  }
}

/* wide: 1 for a layer built for speed (int16 weights), 0 for size; a constant at every call. */
/* wide: 1 built for speed, 0 for size (a constant at every call); input and output: int8_t, or
 * int16_t when p->int16. */
POCKETML_INLINE void pocketml_depthwise_conv2d_dsp_body(const pocketml_depthwise_conv2d_dsp_params *p,
                                                        int32_t wide, const void *input_bytes,
                                                        void *output_bytes) {
  if (p->int16) {
    pocketml_depthwise_dsp_int16(p, wide, (const int16_t *)input_bytes, (int16_t *)output_bytes);
    return;
  }
  const int8_t *input = (const int8_t *)input_bytes;
  int8_t *output = (int8_t *)output_bytes;
  const int32_t rows = (p->k_h - 1) * p->dilation_h + 1; /* slab rows */
  const int32_t words = p->block / 2;                    /* per slab pixel */
  const int32_t row_words = p->slot_w * words;
  const int32_t keep = rows > p->stride_h ? rows - p->stride_h : 0; /* rows the next output row reuses */
  for (int32_t c0 = 0; c0 < p->channels; c0 += p->block) {
    const int8_t *in = input + c0;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t top = oy * p->stride_h - p->pad_top; /* the input row in slab row 0 */
      int32_t first = 0;                                 /* the first slab row to (re)load */
      if (oy > 0 && keep > 0) {
        memmove(p->slab, p->slab + p->stride_h * row_words, (size_t)(keep * row_words) * sizeof(int32_t));
        first = keep;
      }
      for (int32_t r = first; r < rows; ++r) {
        pocketml_depthwise_dsp_load_row(p, in, top + r, p->slab + r * row_words);
      }
      int8_t *out = output + oy * p->out_w * p->channels + c0;
      for (int32_t ox = 0; ox < p->out_w; ++ox, out += p->channels) {
        pocketml_depthwise_dsp_pixel(p, wide, p->slab + ox * p->stride_w * words, out, c0);
      }
    }
  }
}

/* The out-of-line kernel (depthwise_conv2d_dsp.c): one copy for every layer, when built for size. */
/* input and output: int8_t, or int16_t when p->int16 */
void pocketml_depthwise_conv2d_dsp(const pocketml_depthwise_conv2d_dsp_params *p, const void *input,
                                   void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_DEPTHWISE_CONV2D_DSP_H */
