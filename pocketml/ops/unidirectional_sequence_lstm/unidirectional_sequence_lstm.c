/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 x int16, portable: the body of unidirectional_sequence_lstm.h
 * (where the kernel is described) with the portable int8 dot product. */
#include "pocketml_dot.h"
#include "unidirectional_sequence_lstm.h"

void pocketml_unidirectional_sequence_lstm(const pocketml_unidirectional_sequence_lstm_params *p,
                                           const int8_t *input, int8_t *output) {
  pocketml_unidirectional_sequence_lstm_run(p, input, output, pocketml_dot_int8);
}
