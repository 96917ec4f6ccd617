/* UNIDIRECTIONAL_SEQUENCE_LSTM for cores with the DSP extension: the one out-of-line copy a model
 * built for size calls for every layer (built for speed, each layer inlines unidirectional_sequence_lstm_dsp.h). */
#include "unidirectional_sequence_lstm_dsp.h"

void pocketml_unidirectional_sequence_lstm_dsp(const pocketml_unidirectional_sequence_lstm_dsp_params *p,
                                               const int8_t *input, int8_t *output) {
  pocketml_unidirectional_sequence_lstm_dsp_body(p, 0, input, output);
}
