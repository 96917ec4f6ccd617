/* REDUCE_MAX, int8 (the C twin of pocketml/ops/reduce_max/op.py): the largest raw value over count,
 * for each of outer x inner outputs; input and output share quantization. */
#include "reduce_max.h"

void pocketml_reduce_max(const pocketml_reduce_max_params *p, const int8_t *input, int8_t *output) {
  for (int32_t o = 0; o < p->outer; ++o) {
    const int8_t *x = input + o * p->count * p->inner;
    for (int32_t i = 0; i < p->inner; ++i) {
      int8_t best = -128;
      for (int32_t r = 0; r < p->count; ++r) {
        const int8_t v = x[r * p->inner + i];
        best = v > best ? v : best;
      }
      *output++ = best;
    }
  }
}
