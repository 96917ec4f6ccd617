/* FULLY_CONNECTED, int8, for cores with the DSP extension (the fast twin of fully_connected.c;
 * see pocketml_dsp.h).
 *
 *   acc[c] = folded_bias[c] + sum over k < depth of x[k] * w[c, k]
 *   y[c]   = clamp(output_offset + acc[c] * M[c], act_min, act_max)
 *
 * The input is widened once into `scratch` (depth / 2 words: per group g of 4 k, (x[4g], x[4g+2])
 * then (x[4g+1], x[4g+3]); zeros past the input's own depth), then four output channels at a
 * time: per group, one load of the input pair and, per channel, one of its weights and two SMLAD.
 * Weights (ops/fully_connected/dsp.py) per block of 4 channels, per group, per channel:
 *   wide   (speed): (2 w[4g], 2 w[4g+2]), (2 w[4g+1], 2 w[4g+3]) as int16 pairs, doubled (as are the
 *                   biases) for the requantization's SMMULR;
 *   narrow (size):  w[4g] .. w[4g+3] as int8, widened here.
 * `depth` is the input depth rounded up to a multiple of 4 (zero weights past it); channels past
 * out_c (up to a multiple of 4) are zero rows, computed and never stored.
 * Without scratch (`scratch` NULL: the smallest-RAM plan, when the widened input would raise the
 * peak) each block of 4 channels widens the input's groups in registers as it goes (one word load
 * and two SXTB16 per group instead of one LDRD): the same products in the same order, so the same
 * bits, for a few more instructions a group and no RAM.
 * Overflow: as fully_connected.c, plus the requantization bounds of pocketml_dsp.h.
 *
 * 16x8 (p->int16: int16 input and output, zero points 0; pocketml_fully_connected_dsp_int16): the
 * input is already int16, so two neighbours x[k], x[k+1] are one SMLAD operand; weights per block
 * of 4 channels, per group g of 4 k, per channel: wide (speed) (w[4g], w[4g+1]), (w[4g+2], w[4g+3])
 * as int16 pairs (not doubled), narrow (size) w[4g] .. w[4g+3] as int8, widened here to (w0, w2),
 * (w1, w3) against the input repacked to (x0, x2), (x1, x3) once per group for the 4 channels.
 * Products are summed in int32 over at most POCKETML_DSP16_CHUNK groups (pocketml_dsp.h), each chunk
 * added to the int64 sum started at the bias (int64, or the int32 one widened): the integer the
 * portable kernel sums, requantized by the same pocketml_requantize_int16.
 */
#ifndef POCKETML_FULLY_CONNECTED_DSP_H
#define POCKETML_FULLY_CONNECTED_DSP_H

#include "pocketml_dsp.h"
#include "pocketml_requant.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t in_depth, depth, out_c; /* depth: in_depth rounded up to a multiple of 4 */
  int32_t act_min, act_max;
  const int32_t *weights;
  const pocketml_dsp_channel *table; /* [out_c rounded up to a multiple of 4] */
  int32_t *scratch;               /* depth / 2 words, or NULL: widen in registers */
  int32_t int16;                  /* 1: 16x8 (int16 input and output; table and scratch unused) */
  const int64_t *bias64;          /* 16x8: [out_c] int64 bias (int64 requantization), or NULL */
  const int32_t *bias;            /* 16x8 with an int32 bias: [out_c] */
  pocketml_requant rq;            /* 16x8: the portable kernel's requantization */
} pocketml_fully_connected_dsp_params;

/* 16x8: every channel, 4 at a time; the tail (fewer than 4 inputs) copied into a zeroed group. */
POCKETML_INLINE void pocketml_fully_connected_dsp_int16(const pocketml_fully_connected_dsp_params *p,
                                                        int32_t wide, const int16_t *input, int16_t *output) {
  const int32_t *w = p->weights;
  const int32_t groups = p->in_depth / 4;
  for (int32_t c = 0; c < p->out_c; c += 4) {
    int64_t acc[4];
    for (int32_t j = 0; j < 4; ++j) {
      const int32_t cj = c + j < p->out_c ? c + j : c;
      acc[j] = p->bias64 != NULL ? p->bias64[cj] : (int64_t)p->bias[cj];
    }
    const int16_t *in = input;
    for (int32_t g0 = 0; g0 < groups; g0 += POCKETML_DSP16_CHUNK) {
      const int32_t n = groups - g0 < POCKETML_DSP16_CHUNK ? groups - g0 : POCKETML_DSP16_CHUNK;
      int32_t part[4] = {0, 0, 0, 0};
      for (int32_t g = 0; g < n; ++g, in += 4) {
        pocketml_dsp_group16(wide, &w, in, part);
      }
      for (int32_t j = 0; j < 4; ++j) {
        acc[j] += part[j];
      }
    }
    if (p->depth > p->in_depth) {
      int16_t tail[4] = {0, 0, 0, 0};
      int32_t part[4] = {0, 0, 0, 0};
      memcpy(tail, in, (size_t)(p->in_depth % 4) * sizeof(int16_t));
      pocketml_dsp_group16(wide, &w, tail, part);
      for (int32_t j = 0; j < 4; ++j) {
        acc[j] += part[j];
      }
    }
    for (int32_t j = 0; j < 4 && c + j < p->out_c; ++j) {
      output[c + j] = pocketml_requantize_int16(&p->rq, p->bias64 != NULL, acc[j], c + j);
    }
  }
}

/* The widened input: whole words of four, then the tail (fewer than 4 values) padded with zeros. */
POCKETML_INLINE void pocketml_fully_connected_dsp_widen(const pocketml_fully_connected_dsp_params *p,
                                                        const int8_t *input) {
  int32_t *dst = p->scratch;
  int32_t k = 0;
  for (; k + 4 <= p->in_depth; k += 4, dst += 2) {
    const int32_t v = pocketml_read_s8x4(input + k);
    dst[0] = __sxtb16(v);
    dst[1] = pocketml_sxtb16_ror8(v);
  }
  if (k < p->in_depth) {
    int8_t tail[4] = {0, 0, 0, 0};
    memcpy(tail, input + k, (size_t)(p->in_depth - k));
    const int32_t v = pocketml_read_s8x4(tail);
    dst[0] = __sxtb16(v);
    dst[1] = pocketml_sxtb16_ror8(v);
  }
}

/* One channel's two products of a group: its weights at *w (moved on), the widened input xe, xo. */
POCKETML_INLINE int32_t pocketml_fully_connected_dsp_mac(int32_t wide, const int32_t **w, int32_t xe,
                                                         int32_t xo, int32_t acc) {
  int32_t we, wo;
  if (wide) {
    pocketml_load2(w, &we, &wo);
  } else {
    const int32_t v = *(*w)++;
    we = __sxtb16(v);
    wo = pocketml_sxtb16_ror8(v);
  }
  return __smlad(xo, wo, __smlad(xe, we, acc));
}

/* Without scratch: the input's group of 4 at `in`, widened in registers ((x0, x2) and (x1, x3) as
 * int16 pairs), into the four channels' accumulators. */
POCKETML_INLINE void pocketml_fully_connected_dsp_lean4(int32_t wide, const int32_t **w, const int8_t *in,
                                                        int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3) {
  const int32_t v = pocketml_read_s8x4(in);
  const int32_t xe = __sxtb16(v), xo = pocketml_sxtb16_ror8(v);
  *a0 = pocketml_fully_connected_dsp_mac(wide, w, xe, xo, *a0);
  *a1 = pocketml_fully_connected_dsp_mac(wide, w, xe, xo, *a1);
  *a2 = pocketml_fully_connected_dsp_mac(wide, w, xe, xo, *a2);
  *a3 = pocketml_fully_connected_dsp_mac(wide, w, xe, xo, *a3);
}

/* wide: 1 for a layer built for speed (int16 weights), 0 for size; a constant at every call.
 * input and output: int8_t, or int16_t when p->int16.
 * Without scratch, each block of 4 channels widens the input's groups itself; the tail (fewer than
 * 4 inputs) is copied into a zeroed word, never read past the input's end. */
POCKETML_INLINE void pocketml_fully_connected_dsp_body(const pocketml_fully_connected_dsp_params *p,
                                                       int32_t wide, const void *input_bytes,
                                                       void *output_bytes) {
  if (p->int16) {
    pocketml_fully_connected_dsp_int16(p, wide, (const int16_t *)input_bytes, (int16_t *)output_bytes);
    return;
  }
  const int8_t *input = (const int8_t *)input_bytes;
  int8_t *output = (int8_t *)output_bytes;
  if (p->scratch != NULL) {
    pocketml_fully_connected_dsp_widen(p, input);
  }
  const int32_t *w = p->weights;
  const pocketml_dsp_channel *ch = p->table;
  for (int32_t c = 0; c < p->out_c; c += 4, ch += 4) {
    int32_t a0 = ch[0].bias, a1 = ch[1].bias, a2 = ch[2].bias, a3 = ch[3].bias;
    if (p->scratch != NULL) {
      const int32_t *x = p->scratch;
      for (int32_t g = 0; g < p->depth / 4; ++g) {
        int32_t xe, xo;
        pocketml_load2(&x, &xe, &xo);
        a0 = pocketml_fully_connected_dsp_mac(wide, &w, xe, xo, a0);
        a1 = pocketml_fully_connected_dsp_mac(wide, &w, xe, xo, a1);
        a2 = pocketml_fully_connected_dsp_mac(wide, &w, xe, xo, a2);
        a3 = pocketml_fully_connected_dsp_mac(wide, &w, xe, xo, a3);
      }
    } else {
      const int8_t *in = input;
      for (int32_t g = 0; g < p->in_depth / 4; ++g, in += 4) {
        pocketml_fully_connected_dsp_lean4(wide, &w, in, &a0, &a1, &a2, &a3);
      }
      if (p->depth > p->in_depth) {
        int8_t tail[4] = {0, 0, 0, 0};
        memcpy(tail, in, (size_t)(p->in_depth % 4));
        pocketml_fully_connected_dsp_lean4(wide, &w, tail, &a0, &a1, &a2, &a3);
      }
    }
    output[c] = pocketml_dsp_requantize(a0, &ch[0], p->act_min, p->act_max, wide);
    if (c + 1 < p->out_c) {
      output[c + 1] = pocketml_dsp_requantize(a1, &ch[1], p->act_min, p->act_max, wide);
    }
    if (c + 2 < p->out_c) {
      output[c + 2] = pocketml_dsp_requantize(a2, &ch[2], p->act_min, p->act_max, wide);
    }
    if (c + 3 < p->out_c) {
      output[c + 3] = pocketml_dsp_requantize(a3, &ch[3], p->act_min, p->act_max, wide);
    }
  }
}

/* The out-of-line kernel (fully_connected_dsp.c): one copy for every layer, when built for size. */
/* input and output: int8_t, or int16_t when p->int16 */
void pocketml_fully_connected_dsp(const pocketml_fully_connected_dsp_params *p, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_FULLY_CONNECTED_DSP_H */
