/* pocketml weight decoders: stored (packed, sparse or Huffman-coded) weights -> int8 weights.
 *
 * The C twins of pocketml/compress/encoding.py (EncodedWeights.decode), one format per .c file.
 * A model whose layers store weights below 8 bits, sparsely or Huffman-coded decodes each such
 * layer into one static scratch buffer right before the layer's kernel runs; the kernel itself
 * is the ordinary int8 kernel, so the arithmetic is unchanged and the outputs stay bit-exact.
 * Packed values are two's complement, `bits` wide, LSB first within a byte.
 */
#ifndef POCKETML_WEIGHTS_H
#define POCKETML_WEIGHTS_H

#include <stdint.h>

/* The i-th `bits`-wide signed value of a packed stream (bits = 8, 4 or 2), sign-extended. */
static inline int8_t pocketml_packed_at(const uint8_t *src, int32_t bits, int32_t i) {
  if (bits == 8) {
    return (int8_t)src[i];
  }
  const int32_t per_byte = 8 / bits;
  const int32_t shift = (i % per_byte) * bits;
  const int32_t mask = (1 << bits) - 1;
  const int32_t u = (src[i / per_byte] >> shift) & mask;
  return (int8_t)(u >= (1 << (bits - 1)) ? u - (1 << bits) : u);
}

/* dense: n values packed at `bits`. */
void pocketml_unpack_weights(const uint8_t *src, int32_t bits, int32_t n, int8_t *dst);

/* sparse: bitmap (bit k set = weight k non-zero, LSB first) + the non-zero values packed at `bits`. */
void pocketml_sparse_weights(const uint8_t *mask, const uint8_t *values, int32_t bits, int32_t n,
                             int8_t *dst);

/* huffman: canonical code; count[len] codes of each length 1..max_len, symbols in canonical order,
 * the bit stream MSB first. */
void pocketml_huffman_weights(const uint8_t *stream, const uint16_t *count, const int8_t *symbols,
                              int32_t max_len, int32_t n, int8_t *dst);

#endif /* POCKETML_WEIGHTS_H */
