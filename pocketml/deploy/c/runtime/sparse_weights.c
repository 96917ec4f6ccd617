/* Sparse weights: a presence bitmap plus the non-zero values packed at `bits` -> int8.
 * The C twin of EncodedWeights.decode (format "sparse"); see pocketml_weights.h. */
#include "pocketml_weights.h"

void pocketml_sparse_weights(const uint8_t *mask, const uint8_t *values, int32_t bits, int32_t n,
                             int8_t *dst) {
  int32_t next = 0; /* index of the next stored non-zero value */
  for (int32_t i = 0; i < n; ++i) {
    if ((mask[i >> 3] >> (i & 7)) & 1) {
      dst[i] = pocketml_packed_at(values, bits, next);
      ++next;
    } else {
      dst[i] = 0;
    }
  }
}
