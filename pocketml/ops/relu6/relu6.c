/* RELU6, int8 (the C twin of pocketml/ops/relu6/op.py): y = clamp(x, zero, six).
 *
 * Input and output share quantization; zero and six are 0.0 and 6.0 quantized. Element-wise:
 * output may be input.
 */
#include "pocketml_fixedpoint.h"
#include "relu6.h"

void pocketml_relu6(const pocketml_relu6_params *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    output[i] = pocketml_clamp_int8(input[i], p->zero, p->six);
  }
}
