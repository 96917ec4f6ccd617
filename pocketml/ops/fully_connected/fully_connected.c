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
 *
 * 16x8 (p->int16, TFLite's int16 activations): int16 input and output, zero points 0 (the bias is
 * not folded); the sum is int64 from an int64 bias (bias64) or int32 from an int32 one (the
 * converter checked depth * 32768 * 127 + |bias| < 2^31, so an int64 sum holds the same integer).
 */
#include "pocketml_dot.h"
#include "pocketml_fixedpoint.h"
#include "fully_connected.h"

static void pocketml_fully_connected_int16(const pocketml_fully_connected_params *p,
                                           const int16_t *input, int16_t *output) {
  for (int32_t c = 0; c < p->out_c; ++c) {
    const int8_t *w = p->weights + c * p->depth;
    int64_t acc = p->bias64 != 0 ? p->bias64[c] : (int64_t)p->bias[c];
    for (int32_t k = 0; k < p->depth; ++k) {
      acc += (int32_t)input[k] * (int32_t)w[k];
    }
    output[c] = pocketml_requantize_int16(&p->rq, p->bias64 != 0, acc, c);
  }
}

void pocketml_fully_connected(const pocketml_fully_connected_params *p, const void *input_bytes,
                              void *output_bytes) {
  const int8_t *input = (const int8_t *)input_bytes;
  int8_t *output = (int8_t *)output_bytes;
  if (p->int16) {
    pocketml_fully_connected_int16(p, (const int16_t *)input_bytes, (int16_t *)output_bytes);
    return;
  }
  for (int32_t c = 0; c < p->out_c; ++c) {
    const int32_t acc = p->bias[c] + pocketml_dot_int8(input, p->weights + c * p->depth, p->depth);
    output[c] = pocketml_clamp_int8(
        pocketml_multiply_by_quantized_multiplier(acc, p->rq.multiplier[c], p->rq.left_shift[c],
                                                  p->rq.right_shift[c]) + p->rq.output_offset,
        p->rq.act_min, p->rq.act_max);
  }
}
