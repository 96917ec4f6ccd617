/* Huffman-coded weights -> int8: canonical decoding one bit at a time (as zlib's puff.c does).
 * The C twin of encoding._huffman_decode; see pocketml_weights.h.
 *
 * For each length len = 1..max_len the canonical codes of that length are the count[len]
 * consecutive integers starting at `first`; `index` counts the symbols of shorter codes.
 * max_len <= 24 (checked by the encoder), so `code` fits an int32.
 */
#include "pocketml_weights.h"

void pocketml_huffman_weights(const uint8_t *stream, const uint16_t *count, const int8_t *symbols,
                              int32_t max_len, int32_t n, int8_t *dst) {
  int32_t pos = 0; /* bit position in the stream */
  for (int32_t k = 0; k < n; ++k) {
    int32_t code = 0, first = 0, index = 0;
    for (int32_t len = 1; len <= max_len; ++len) {
      code |= (stream[pos >> 3] >> (7 - (pos & 7))) & 1;
      ++pos;
      const int32_t c = count[len];
      if (code - first < c) {
        dst[k] = symbols[index + code - first];
        break;
      }
      index += c;
      first = (first + c) << 1;
      code <<= 1;
    }
  }
}
