/* RELU6, int8 (the C twin of pocketml/ops/relu6/op.py): y = clamp(x, zero, six).
 *
 * Input and output share quantization; zero and six are 0.0 and 6.0 quantized. Element-wise:
 * output may be input. p->int16: int16 input and output (TFLite's 16x8 models), the same clamp.
 */
#include "relu6.h"

static int32_t relu6_one(const pocketml_relu6_params *p, int32_t x) {
  return x < p->zero ? p->zero : (x > p->six ? p->six : x);
}

void pocketml_relu6(const pocketml_relu6_params *p, const void *input, void *output) {
  if (p->int16) {
    const int16_t *x = (const int16_t *)input;
    int16_t *y = (int16_t *)output;
    for (int32_t i = 0; i < p->size; ++i) {
      y[i] = (int16_t)relu6_one(p, x[i]);
    }
    return;
  }
  {
    const int8_t *x = (const int8_t *)input;
    int8_t *y = (int8_t *)output;
    for (int32_t i = 0; i < p->size; ++i) {
      y[i] = (int8_t)relu6_one(p, x[i]);
    }
  }
}
