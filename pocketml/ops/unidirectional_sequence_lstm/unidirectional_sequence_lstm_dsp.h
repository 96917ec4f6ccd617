/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 x int16, for cores with the DSP extension (see pocketml_dsp.h):
 * the body of unidirectional_sequence_lstm.h, where the kernel is described, with a dot product of
 * four int8 products per two SMLAD (each word of inputs and weights widened by SXTB16 into its even
 * and odd int16 pairs), then the tail one by one. The same int8 weights as the portable kernel, built
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

/* Passed to the body by address, so plain static inline (always_inline cannot be); the compiler
 * inlines it where the body is inlined with it as a constant. */
static inline int32_t pocketml_unidirectional_sequence_lstm_dsp_dot(const int8_t *x, const int8_t *w, int32_t n) {
  int32_t acc = 0;
  int32_t k = 0;
  for (; k + 4 <= n; k += 4) {
    const int32_t xv = pocketml_read_s8x4(x + k), wv = pocketml_read_s8x4(w + k);
    acc = __smlad(__sxtb16(xv), __sxtb16(wv), acc);
    acc = __smlad(pocketml_sxtb16_ror8(xv), pocketml_sxtb16_ror8(wv), acc);
  }
  for (; k < n; ++k) {
    acc += (int32_t)x[k] * (int32_t)w[k];
  }
  return acc;
}

/* wide (speed or size) changes nothing here: the weights stay int8. */
POCKETML_INLINE void pocketml_unidirectional_sequence_lstm_dsp_body(
    const pocketml_unidirectional_sequence_lstm_dsp_params *p, int32_t wide, const int8_t *input, int8_t *output) {
  (void)wide;
  pocketml_unidirectional_sequence_lstm_run(p, input, output, pocketml_unidirectional_sequence_lstm_dsp_dot);
}

/* The out-of-line kernel (unidirectional_sequence_lstm_dsp.c): one copy for every layer, when built for size. */
void pocketml_unidirectional_sequence_lstm_dsp(const pocketml_unidirectional_sequence_lstm_dsp_params *p,
                                               const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_UNIDIRECTIONAL_SEQUENCE_LSTM_DSP_H */
