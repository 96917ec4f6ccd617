/* pocketml keyword spotting: kws_feed on one 20 ms chunk (see kws_chunk.h). */
#include "kws_chunk.h"

#include <string.h>

#include "kws.h"

int kws_chunk_invoke(const int8_t *input, int8_t *output) {
  static int16_t pcm[KWS_HOP]; /* the bytes are copied: `input` need not be 2-byte aligned */
  kws_event_t events[KWS_MAX_EVENTS(KWS_HOP)];
  memcpy(pcm, input, sizeof pcm);
  const int n = kws_feed(pcm, KWS_HOP, events);
  if (n < 0) {
    return n;
  }
  memset(output, 0, KWS_CHUNK_OUTPUT_BYTES);
  if (n > 0) {
    const kws_event_t *e = &events[n - 1];
    output[0] = (int8_t)n;
    output[1] = (int8_t)e->label;
    output[2] = (int8_t)(e->score & 0xFFu);
    output[3] = (int8_t)(e->score >> 8);
    output[4] = (int8_t)(e->frame & 0xFFu);
    output[5] = (int8_t)((e->frame >> 8) & 0xFFu);
    output[6] = (int8_t)((e->frame >> 16) & 0xFFu);
    output[7] = (int8_t)((e->frame >> 24) & 0xFFu);
  }
  return 0;
}
