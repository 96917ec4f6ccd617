/* QUANTIZE between integer types (the C twin of pocketml/ops/quantize/op.py).
 *
 *   y = clamp(z_y + (x - z_x) * s_x / s_y)   8-bit to 8-bit: computed at conversion time for each of
 *                                            the 256 input bytes; otherwise here, per element
 *
 * Element-wise: output may be input when both types have one size (element i is read before it is
 * written). Wider elements are copied with memcpy: the arena gives no alignment.
 */
#include <string.h>

#include "pocketml_fixedpoint.h"
#include "quantize.h"

static int32_t quantize_read(const uint8_t *in, int32_t bytes, int32_t i) {
  if (bytes == 2) {
    int16_t v;
    memcpy(&v, in + 2 * i, sizeof v);
    return v;
  }
  return (int32_t)(int8_t)in[i];
}

static void quantize_write(uint8_t *out, int32_t bytes, int32_t i, int32_t v) {
  if (bytes == 4) {
    memcpy(out + 4 * i, &v, sizeof v);
  } else if (bytes == 2) {
    const int16_t w = (int16_t)v;
    memcpy(out + 2 * i, &w, sizeof w);
  } else {
    out[i] = (uint8_t)(int8_t)v;
  }
}

void pocketml_quantize(const pocketml_quantize_params *p, const void *input, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  if (p->table != 0) {
    int8_t *out = (int8_t *)output;
    for (int32_t i = 0; i < p->size; ++i) {
      out[i] = p->table[in[i]];
    }
    return;
  }
  for (int32_t i = 0; i < p->size; ++i) {
    /* |x - z_x| << left_shift and z_y + the scaled value fit int32: checked at conversion */
    const int32_t scaled = pocketml_multiply_by_quantized_multiplier(
        quantize_read(in, p->input_bytes, i) - p->input_zero_point, p->multiplier, p->left_shift, p->right_shift);
    int32_t v = scaled + p->output_zero_point;
    v = v < p->out_min ? p->out_min : (v > p->out_max ? p->out_max : v);
    quantize_write((uint8_t *)output, p->output_bytes, i, v);
  }
}
