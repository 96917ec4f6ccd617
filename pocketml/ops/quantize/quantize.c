/* QUANTIZE between int8 and uint8, or int8 to int8 (the C twin of pocketml/ops/quantize/op.py).
 *
 *   y = clamp(z_y + (x - z_x) * s_x / s_y)   computed at conversion time for each of the 256 input bytes
 *
 * Element-wise: output may be input (each byte is read before it is written).
 */
#include "quantize.h"

void pocketml_quantize(const pocketml_quantize_params *p, const void *input, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  int8_t *out = (int8_t *)output;
  for (int32_t i = 0; i < p->size; ++i) {
    out[i] = p->table[in[i]];
  }
}
