/* FULLY_CONNECTED, int8 (the C twin of pocketml/graph/ops/fully_connected.py).
 *
 *   acc[c] = bias[c] + sum over k of (x[k] + input_offset) * w[c, k]
 *   y[c]   = clamp(output_offset + acc[c] * M[c], act_min, act_max)
 *
 * Overflow: the converter checked depth * 255 * 127 + |bias| < 2^31.
 */
#include "pocketml_fixedpoint.h"
#include "pocketml_ops.h"

void pocketml_fully_connected(const pocketml_fully_connected_params *p, const int8_t *input,
                              int8_t *output) {
  for (int32_t c = 0; c < p->out_c; ++c) {
    const int8_t *w = p->weights + c * p->depth;
    int32_t acc = p->bias[c];
    for (int32_t k = 0; k < p->depth; ++k) {
      acc += ((int32_t)input[k] + p->input_offset) * (int32_t)w[k];
    }
    acc = pocketml_multiply_by_quantized_multiplier(acc, p->rq.multiplier[c],
                                                    p->rq.left_shift[c], p->rq.right_shift[c]);
    output[c] = pocketml_clamp_int8(acc + p->rq.output_offset, p->rq.act_min, p->rq.act_max);
  }
}
