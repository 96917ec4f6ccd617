/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 x int16, portable: the body of unidirectional_sequence_lstm.h
 * (where the kernel is described) with the portable int8 dot product and requantization. */
#include "pocketml_dot.h"
#include "unidirectional_sequence_lstm.h"

static void dot4(const int8_t *x, const int8_t *w, int32_t stride, int32_t n, int32_t *acc) {
  for (int32_t g = 0; g < 4; ++g) {
    acc[g] = pocketml_dot_int8(x, w + g * stride, n);
  }
}

void pocketml_unidirectional_sequence_lstm(const pocketml_unidirectional_sequence_lstm_params *p,
                                           const int8_t *input, int8_t *output) {
  pocketml_unidirectional_sequence_lstm_run(p, input, output, dot4, pocketml_lstm_scale);
}
