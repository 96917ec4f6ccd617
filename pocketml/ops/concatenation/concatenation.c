/* CONCATENATION along the channel axis, int8 (the C twin of pocketml/ops/concatenation/op.py).
 *
 * Every input shares the output's quantization (the converter forced it), so this only copies:
 * for each position, the channels of input 0, then of input 1, ...
 */
#include "concatenation.h"

void pocketml_concatenation(const pocketml_concatenation_params *p, const int8_t *const *inputs,
                            int8_t *output) {
  int32_t o = 0;
  for (int32_t i = 0; i < p->outer; ++i) {
    for (int32_t k = 0; k < p->n_inputs; ++k) {
      const int8_t *x = inputs[k] + i * p->depths[k];
      for (int32_t c = 0; c < p->depths[k]; ++c) {
        output[o++] = x[c];
      }
    }
  }
}
