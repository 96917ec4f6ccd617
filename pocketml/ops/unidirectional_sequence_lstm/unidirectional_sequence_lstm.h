/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 x int16 (the C twin of pocketml/ops/unidirectional_sequence_lstm/op.py,
 * where the arithmetic and its bounds are written out; the gates' table functions are in
 * pocketml_sigmoid16.h, the twin of pocketml/ops/sigmoid16.py): the
 * kernel's parameters, its body (shared by the portable kernel, unidirectional_sequence_lstm.c, and
 * the one for cores with the DSP extension, unidirectional_sequence_lstm_dsp.h: only their int8 dot
 * product differs) and the portable entry.
 *
 * One call runs the T steps of one sequence from the state the previous call left (TFLite Micro's
 * variable tensors), or, with reset_each_call (a model whose state resets per inference), from the
 * reset state (hidden at its zero point, cell 0) as TFLite Micro after reset(); unit j's four gates
 * need only the input row and the previous hidden state, so each unit is finished (gates, cell,
 * hidden) before the next, and step t reads the previous hidden state from the output row t - 1
 * (from `hidden` at t = 0): no scratch but the state itself. The biases are folded with the zero
 * points (pocketml/ops/c.py: folded_bias), so the dot products are plain int8 sums; every partial
 * sum stays inside int32 (checked by the converter).
 */
#ifndef POCKETML_UNIDIRECTIONAL_SEQUENCE_LSTM_H
#define POCKETML_UNIDIRECTIONAL_SEQUENCE_LSTM_H

#include <stdint.h>
#include <string.h>

#include "pocketml_fixedpoint.h"
#include "pocketml_sigmoid16.h"

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

/* What the portable and the DSP kernel do their own way: the four gates' int8 dot products of one
 * unit (acc[g] = sum over i < n of x[i] * w[g * stride + i], in int32) and TFLite's
 * MultiplyByQuantizedMultiplier of x by multiplier slot `slot`. */
typedef void (*pocketml_lstm_dot)(const int8_t *x, const int8_t *w, int32_t stride, int32_t n, int32_t *acc);
typedef int32_t (*pocketml_lstm_scale_fn)(const int32_t *multiplier, const int8_t *left_shift,
                                          const int8_t *right_shift, int32_t slot, int32_t x);

static inline int32_t pocketml_lstm_sat16(int32_t v) {
  return v < -32768 ? -32768 : (v > 32767 ? 32767 : v);
}

static inline int32_t pocketml_lstm_scale(const int32_t *multiplier, const int8_t *left_shift,
                                          const int8_t *right_shift, int32_t slot, int32_t x) {
  return pocketml_multiply_by_quantized_multiplier(x, multiplier[slot], left_shift[slot], right_shift[slot]);
}

/* The kernel (see the top of this file) with the dot product `dot` and the requantization `scale`. */
static inline void pocketml_unidirectional_sequence_lstm_run(const pocketml_unidirectional_sequence_lstm_params *p,
                                                             const int8_t *input, int8_t *output,
                                                             pocketml_lstm_dot dot, pocketml_lstm_scale_fn scale) {
  const int32_t units = p->units, depth = p->depth;
  const int32_t *m = p->multiplier;
  const int8_t *ls = p->left_shift, *rs = p->right_shift;
  if (p->reset_each_call) {
    memset(p->hidden, p->hidden_zero_point, (size_t)units);
    memset(p->cell, 0, (size_t)units * sizeof(int16_t));
  }
  for (int32_t t = 0; t < p->steps; ++t) {
    const int8_t *x = input + t * depth;
    const int8_t *h = t == 0 ? p->hidden : output + (t - 1) * units;
    int8_t *y = output + t * units;
    for (int32_t j = 0; j < units; ++j) {
      int32_t gate[4], acc_x[4], acc_h[4];
      dot(x, p->input_weights + j * depth, units * depth, depth, acc_x);
      dot(h, p->recurrent_weights + j * units, units * units, units, acc_h);
      for (int32_t g = 0; g < 4; ++g) {
        const int32_t row = g * units + j;
        const int32_t from_x = pocketml_lstm_sat16(scale(m, ls, rs, g, p->input_bias[row] + acc_x[g]));
        const int32_t from_h = pocketml_lstm_sat16(scale(m, ls, rs, 4 + g, p->recurrent_bias[row] + acc_h[g]));
        const int32_t pre = pocketml_lstm_sat16(from_x + from_h);
        gate[g] = g == 2 ? pocketml_tanh16(p->sigmoid, pre, 3, 0) : pocketml_sigmoid16(p->sigmoid, pre, 3, 0);
      }
      int32_t c = pocketml_lstm_sat16(
          pocketml_lstm_sat16(scale(m, ls, rs, POCKETML_LSTM_FORGET_MUL, gate[1] * (int32_t)p->cell[j])) +
          pocketml_lstm_sat16(scale(m, ls, rs, POCKETML_LSTM_INPUT_MUL, gate[0] * gate[2])));
      if (p->cell_clip > 0) {
        c = c < -p->cell_clip ? -p->cell_clip : (c > p->cell_clip ? p->cell_clip : c);
      }
      p->cell[j] = (int16_t)c;
      const int32_t tc = pocketml_tanh16(p->sigmoid, c, p->tanh_multiplier, p->tanh_shift);
      y[j] = pocketml_clamp_int8(p->hidden_zero_point + scale(m, ls, rs, POCKETML_LSTM_OUTPUT_MUL, tc * gate[3]),
                                 -128, 127);
    }
  }
  if (p->steps > 0) {
    memcpy(p->hidden, output + (p->steps - 1) * units, (size_t)units);
  }
}

void pocketml_unidirectional_sequence_lstm(const pocketml_unidirectional_sequence_lstm_params *p,
                                           const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_UNIDIRECTIONAL_SEQUENCE_LSTM_H */
