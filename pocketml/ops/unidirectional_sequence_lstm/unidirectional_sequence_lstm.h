/* UNIDIRECTIONAL_SEQUENCE_LSTM: the kernel's parameters and entry (pocketml/ops/unidirectional_sequence_lstm/,
 * see unidirectional_sequence_lstm.c). */
#ifndef POCKETML_UNIDIRECTIONAL_SEQUENCE_LSTM_H
#define POCKETML_UNIDIRECTIONAL_SEQUENCE_LSTM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Multiplier slots: 0-3 the input FCs, 4-7 the recurrent FCs (gates input, forget, cell, output),
 * then forget x cell, input x cell gate, tanh(cell) x output gate. */
#define POCKETML_LSTM_FORGET_MUL 8
#define POCKETML_LSTM_INPUT_MUL 9
#define POCKETML_LSTM_OUTPUT_MUL 10

typedef struct {
  int32_t steps, depth, units;
  const int8_t *input_weights;      /* [4][units][depth] */
  const int8_t *recurrent_weights;  /* [4][units][units] */
  const int32_t *input_bias;        /* [4][units]: bias - input zero point * row sum */
  const int32_t *recurrent_bias;    /* [4][units]: - hidden zero point * row sum */
  const int32_t *multiplier;        /* [11] Q0.31, slots above */
  const int8_t *left_shift;         /* [11] */
  const int8_t *right_shift;        /* [11] */
  const uint16_t *sigmoid;          /* [256] the gates' table, 2^16 sigmoid(k / 24) */
  int32_t hidden_zero_point;
  int32_t tanh_multiplier, tanh_shift; /* the cell state onto tanh's table */
  int32_t cell_clip;                /* 0: none */
  int32_t reset_each_call;          /* 1: every call is one whole sequence from the reset state (per inference) */
  int8_t *hidden;                   /* [units] state kept between calls (model.c's <prefix>_reset) */
  int16_t *cell;                    /* [units] state kept between calls */
} pocketml_unidirectional_sequence_lstm_params;

void pocketml_unidirectional_sequence_lstm(const pocketml_unidirectional_sequence_lstm_params *p,
                                           const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_UNIDIRECTIONAL_SEQUENCE_LSTM_H */
