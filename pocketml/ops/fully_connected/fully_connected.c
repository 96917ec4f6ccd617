/* FULLY_CONNECTED, int8 (the C twin of pocketml/ops/fully_connected/op.py).
 *
 *   acc[c] = bias[c] + sum over k of (x[k] + input_offset) * w[c, k]
 *          = folded_bias[c] + sum over k of x[k] * w[c, k]
 *   y[c]   = clamp(output_offset + acc[c] * M[c], act_min, act_max)
 *
 * The `bias` array holds folded_bias[c] = bias[c] + input_offset * (sum of w[c, .]), computed once
 * by the converter (pocketml/ops/c.py: folded_bias), so the inner loop is a plain int8 dot product.
 * Overflow: the converter checked depth * 255 * 127 + |bias| < 2^31, and
 * |folded_bias| + 128 * sum |w| < 2^31 for every partial sum of the second form.
 */
#include "pocketml_dot.h"
#include "pocketml_fixedpoint.h"
#include "fully_connected.h"

void pocketml_fully_connected(const pocketml_fully_connected_params *p, const int8_t *input,
                              int8_t *output) {
  for (int32_t c = 0; c < p->out_c; ++c) {
    const int32_t acc = p->bias[c] + pocketml_dot_int8(input, p->weights + c * p->depth, p->depth);
    output[c] = pocketml_clamp_int8(
        pocketml_multiply_by_quantized_multiplier(acc, p->rq.multiplier[c], p->rq.left_shift[c],
                                                  p->rq.right_shift[c]) + p->rq.output_offset,
        p->rq.act_min, p->rq.act_max);
  }
}
