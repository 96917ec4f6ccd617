/* HARD_SWISH, int8: x · relu6(x + 3) / 6 (the C twin of pocketml/ops/hard_swish/op.py).
 *
 *   y = table[x + 128]
 *
 * The converter ran TFLite Micro's integer arithmetic on each of the 256 int8 inputs
 * (pocketml/ops/table.py); the kernel only looks the result up. Element-wise: output may be input.
 */
#include "hard_swish.h"

void pocketml_hard_swish(const pocketml_hard_swish_params *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    output[i] = p->table[(int32_t)input[i] + 128];
  }
}
