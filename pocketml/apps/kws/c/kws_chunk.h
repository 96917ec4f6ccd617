/* pocketml keyword spotting: one 20 ms chunk per call, for the Cortex-M measurement in QEMU.
 *
 * The QEMU harness of pocketml/deploy/cortexm (firmware/harness.c) times one call per record;
 * with this header in place of model.h, a record is KWS_HOP int16 samples (little-endian) and the
 * answer is 8 bytes: event count (0 or 1), label, score (uint16), frame (uint32).
 */
#ifndef KWS_CHUNK_H
#define KWS_CHUNK_H

#include <stdint.h>

#include "kws_config.h"

#define KWS_CHUNK_INPUT_BYTES (2 * KWS_HOP)
#define KWS_CHUNK_OUTPUT_BYTES 8

int kws_chunk_invoke(const int8_t *input, int8_t *output);

#endif /* KWS_CHUNK_H */
