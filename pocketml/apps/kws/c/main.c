/* pocketml keyword spotting: host harness of the whole program (tests and `pocketml kws detect --c`).
 *
 *   kws_run features        stdin: frames of KWS_WINDOW int16; stdout: KWS_N_MFCC int32 (Q16) each
 *   kws_run stream SEED     stdin: an int16 stream, fed to kws_feed in pseudo-random chunk sizes
 *                           (1..4000 samples, a linear congruential generator seeded by SEED);
 *                           stdout: every event as 8 bytes (uint32 frame, uint8 label, uint8 0,
 *                           uint16 score), little-endian
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kws.h"
#include "kws_frontend.h"

#define KWS_MAX_CHUNK 4000u

static int run_features(void) {
  static int16_t frame[KWS_WINDOW];
  static int32_t mfcc[KWS_N_MFCC];
  while (fread(frame, sizeof frame[0], KWS_WINDOW, stdin) == KWS_WINDOW) {
    kws_frontend_frame(frame, mfcc);
    if (fwrite(mfcc, sizeof mfcc[0], KWS_N_MFCC, stdout) != KWS_N_MFCC) {
      return 3;
    }
  }
  return ferror(stdin) ? 4 : 0;
}

static int run_stream(unsigned long seed) {
  static int16_t chunk[KWS_MAX_CHUNK];
  static kws_event_t events[KWS_MAX_EVENTS(KWS_MAX_CHUNK)];
  unsigned long state = seed;
  kws_reset();
  for (;;) {
    state = (state * 1103515245ul + 12345ul) & 0x7FFFFFFFul;
    const size_t want = 1u + (size_t)(state % KWS_MAX_CHUNK);
    const size_t got = fread(chunk, sizeof chunk[0], want, stdin);
    if (got == 0u) {
      break;
    }
    const int n = kws_feed(chunk, got, events);
    if (n < 0) {
      return 2;
    }
    for (int i = 0; i < n; ++i) {
      unsigned char rec[8];
      rec[0] = (unsigned char)(events[i].frame & 0xFFu);
      rec[1] = (unsigned char)((events[i].frame >> 8) & 0xFFu);
      rec[2] = (unsigned char)((events[i].frame >> 16) & 0xFFu);
      rec[3] = (unsigned char)((events[i].frame >> 24) & 0xFFu);
      rec[4] = events[i].label;
      rec[5] = 0u;
      rec[6] = (unsigned char)(events[i].score & 0xFFu);
      rec[7] = (unsigned char)(events[i].score >> 8);
      if (fwrite(rec, 1, sizeof rec, stdout) != sizeof rec) {
        return 3;
      }
    }
  }
  return ferror(stdin) ? 4 : 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "features") == 0) {
    return run_features();
  }
  if (argc >= 3 && strcmp(argv[1], "stream") == 0) {
    return run_stream(strtoul(argv[2], NULL, 10));
  }
  fprintf(stderr, "usage: kws_run features | kws_run stream SEED\n");
  return 1;
}
