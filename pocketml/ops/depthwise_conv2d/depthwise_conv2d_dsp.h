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
 * Overflow: as depthwise_conv2d.c, plus the requantization bounds of pocketml_dsp.h (checked by
 * the converter).
 */
#ifndef POCKETML_DEPTHWISE_CONV2D_DSP_H
#define POCKETML_DEPTHWISE_CONV2D_DSP_H

#include "pocketml_dsp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t in_h, in_w, channels, out_h, out_w, k_h, k_w;
  int32_t stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  int32_t slot_w;     /* pixels in a slot: pad_left + in_w + the right padding the taps reach */
  int32_t zero_point; /* the input zero point: what the padding holds */
  int32_t act_min, act_max;
  const int32_t *weights;
  const pocketml_dsp_channel *table; /* [channels] */
  int32_t *slab;      /* ((k_h - 1) * dilation_h + 1) * slot_w * channels / 2 words */
} pocketml_depthwise_conv2d_dsp_params;

/* Input row iy (padding rows: the zero point) widened into its slot. */
POCKETML_INLINE void pocketml_depthwise_dsp_load_row(const pocketml_depthwise_conv2d_dsp_params *p,
                                                     const int8_t *input, int32_t iy,
                                                     int32_t *slot) {
  const int32_t zp = (int32_t)((uint32_t)(p->zero_point & 0xFFFF) * 0x10001u); /* in both int16 lanes */
  const int32_t words = p->channels / 2;                   /* per pixel */
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
    for (int32_t c = 0; c < p->channels; c += 4, dst += 2) {
      const int32_t v = pocketml_read_s8x4(x + c);
      dst[0] = __sxtb16(v);
      dst[1] = pocketml_sxtb16_ror8(v);
    }
  }
}

/* One output pixel's channels: x points at its top-left tap in the slab. */
POCKETML_INLINE void pocketml_depthwise_dsp_pixel(const pocketml_depthwise_conv2d_dsp_params *p,
                                                  int32_t wide, const int32_t *x, int8_t *out) {
  const int32_t words = p->channels / 2; /* per slab pixel */
  const int32_t *w = p->weights;
  const pocketml_dsp_channel *ch = p->table;
  for (int32_t c = 0; c < p->channels; c += 4, ch += 4, x += 2) {
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
POCKETML_INLINE void pocketml_depthwise_conv2d_dsp_body(const pocketml_depthwise_conv2d_dsp_params *p,
                                                        int32_t wide, const int8_t *input, int8_t *output) {
  const int32_t rows = (p->k_h - 1) * p->dilation_h + 1; /* slab rows */
  const int32_t words = p->channels / 2;                 /* per pixel */
  const int32_t row_words = p->slot_w * words;
  const int32_t keep = rows > p->stride_h ? rows - p->stride_h : 0; /* rows the next output row reuses */
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    const int32_t top = oy * p->stride_h - p->pad_top; /* the input row in slab row 0 */
    int32_t first = 0;                                 /* the first slab row to (re)load */
    if (oy > 0 && keep > 0) {
      memmove(p->slab, p->slab + p->stride_h * row_words, (size_t)(keep * row_words) * sizeof(int32_t));
      first = keep;
    }
    for (int32_t r = first; r < rows; ++r) {
      pocketml_depthwise_dsp_load_row(p, input, top + r, p->slab + r * row_words);
    }
    int8_t *out = output + oy * p->out_w * p->channels;
    for (int32_t ox = 0; ox < p->out_w; ++ox, out += p->channels) {
      pocketml_depthwise_dsp_pixel(p, wide, p->slab + ox * p->stride_w * words, out);
    }
  }
}

/* The out-of-line kernel (depthwise_conv2d_dsp.c): one copy for every layer, when built for size. */
void pocketml_depthwise_conv2d_dsp(const pocketml_depthwise_conv2d_dsp_params *p, const int8_t *input,
                                   int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_DEPTHWISE_CONV2D_DSP_H */
