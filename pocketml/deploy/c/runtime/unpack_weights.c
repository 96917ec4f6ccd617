/* Dense packed weights (int8, int4 two per byte, int2 four per byte) -> int8.
 * The C twin of encoding.unpack; see pocketml_weights.h. */
#include "pocketml_weights.h"

void pocketml_unpack_weights(const uint8_t *src, int32_t bits, int32_t n, int8_t *dst) {
  for (int32_t i = 0; i < n; ++i) {
    dst[i] = pocketml_packed_at(src, bits, i);
  }
}
