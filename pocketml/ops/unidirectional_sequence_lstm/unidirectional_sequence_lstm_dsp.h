/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 x int16, for cores with the DSP extension (see pocketml_dsp.h):
 * the body of unidirectional_sequence_lstm.h, where the kernel is described, with dot products of
 * four int8 products per two SMLAD (each word of inputs and weights widened by SXTB16 into its even
 * and odd int16 pairs; an input word once for a unit's four gates), then the tail one by one, and
 * the requantization by one SMMULR where that is exact. The same int8 weights as the portable kernel, built
 * for speed or size; the same sums (integer addition is associative: SMLAD's wrap-around is exact
 * whenever the total fits int32, which the converter checks), so the same bits.
 */
#ifndef POCKETML_UNIDIRECTIONAL_SEQUENCE_LSTM_DSP_H
#define POCKETML_UNIDIRECTIONAL_SEQUENCE_LSTM_DSP_H

#include "pocketml_dsp.h"
#include "unidirectional_sequence_lstm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef pocketml_unidirectional_sequence_lstm_params pocketml_unidirectional_sequence_lstm_dsp_params;

/* The four gates' dot products of one unit: each word of x widened once for the four weight rows.
 * Passed to the body by address, so plain static inline (always_inline cannot be); the compiler
 * inlines it where the body is inlined with it as a constant. */
static inline void pocketml_unidirectional_sequence_lstm_dsp_dot(const int8_t *x, const int8_t *w, int32_t stride,
                                                                 int32_t n, int32_t *acc) {
  const int8_t *w0 = w, *w1 = w + stride, *w2 = w + 2 * stride, *w3 = w + 3 * stride;
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int32_t k = 0;
  for (; k + 4 <= n; k += 4) {
    const int32_t xv = pocketml_read_s8x4(x + k);
    const int32_t xe = __sxtb16(xv), xo = pocketml_sxtb16_ror8(xv);
    int32_t wv = pocketml_read_s8x4(w0 + k);
    a0 = __smlad(xo, pocketml_sxtb16_ror8(wv), __smlad(xe, __sxtb16(wv), a0));
    wv = pocketml_read_s8x4(w1 + k);
    a1 = __smlad(xo, pocketml_sxtb16_ror8(wv), __smlad(xe, __sxtb16(wv), a1));
    wv = pocketml_read_s8x4(w2 + k);
    a2 = __smlad(xo, pocketml_sxtb16_ror8(wv), __smlad(xe, __sxtb16(wv), a2));
    wv = pocketml_read_s8x4(w3 + k);
    a3 = __smlad(xo, pocketml_sxtb16_ror8(wv), __smlad(xe, __sxtb16(wv), a3));
  }
  for (; k < n; ++k) {
    const int32_t xk = x[k];
    a0 += xk * w0[k];
    a1 += xk * w1[k];
    a2 += xk * w2[k];
    a3 += xk * w3[k];
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* TFLite's MultiplyByQuantizedMultiplier (pocketml_fixedpoint.h) by one SMMULR where that is exact:
 * a = x << left shift with |a| < 2^30, so that 2a fits and srdhm(a, m) = (2a * m + 2^31) >> 32
 * (pocketml_dsp.h), then |y| <= |a| < 2^30 and the rounding right shift is
 * (y + 2^(r-1) - [y < 0]) >> r without overflow; any other a takes the portable path. */
static inline int32_t pocketml_unidirectional_sequence_lstm_dsp_scale(const int32_t *multiplier,
                                                                      const int8_t *left_shift,
                                                                      const int8_t *right_shift, int32_t slot,
                                                                      int32_t x) {
  const int32_t a = x * ((int32_t)1 << left_shift[slot]);
  if (a >= ((int32_t)1 << 30) || a < -((int32_t)1 << 30)) {
    return pocketml_lstm_scale(multiplier, left_shift, right_shift, slot, x);
  }
  const int32_t y = pocketml_smmulr(a * 2, multiplier[slot]);
  const int32_t r = right_shift[slot];
  return r == 0 ? y : (y + ((int32_t)1 << (r - 1)) + (y >> 31)) >> r;
}

/* wide (speed or size) changes nothing here: the weights stay int8. */
POCKETML_INLINE void pocketml_unidirectional_sequence_lstm_dsp_body(
    const pocketml_unidirectional_sequence_lstm_dsp_params *p, int32_t wide, const int8_t *input, int8_t *output) {
  (void)wide;
  pocketml_unidirectional_sequence_lstm_run(p, input, output, pocketml_unidirectional_sequence_lstm_dsp_dot,
                                            pocketml_unidirectional_sequence_lstm_dsp_scale);
}

/* The out-of-line kernel (unidirectional_sequence_lstm_dsp.c): one copy for every layer, when built for size. */
void pocketml_unidirectional_sequence_lstm_dsp(const pocketml_unidirectional_sequence_lstm_dsp_params *p,
                                               const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_UNIDIRECTIONAL_SEQUENCE_LSTM_DSP_H */
