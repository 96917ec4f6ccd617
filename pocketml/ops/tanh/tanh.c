/* TANH, int8 or int16: the hyperbolic tangent (the C twin of pocketml/ops/tanh/op.py).
 *
 *   y = table[x + 128]
 *
 * The converter ran TFLite Micro's integer arithmetic on each of the 256 int8 inputs
 * (pocketml/ops/table.py); the kernel only looks the result up. Element-wise: output may be input.
 *
 * p->int16: int16 in and out (TFLite's 16x8 models): TFLite Micro's interpolation in its 256-entry
 * sigmoid table, the input scaled by (multiplier, shift) as its Prepare picks them
 * (pocketml/ops/sigmoid16.py; pocketml_sigmoid16.h), Q0.15 out.
 */
#include "tanh.h"

#include "pocketml_sigmoid16.h"

void pocketml_tanh(const pocketml_tanh_params *p, const void *input, void *output) {
  if (p->int16) {
    const int16_t *x = (const int16_t *)input;
    int16_t *y = (int16_t *)output;
    for (int32_t i = 0; i < p->size; ++i) {
      y[i] = (int16_t)pocketml_tanh16(p->sigmoid, x[i], p->multiplier, p->shift);
    }
    return;
  }
  const int8_t *x = (const int8_t *)input;
  int8_t *y = (int8_t *)output;
  for (int32_t i = 0; i < p->size; ++i) {
    y[i] = p->table[(int32_t)x[i] + 128];
  }
}
