/* pocketml keyword spotting: host harness of the front end alone (tests).
 * stdin: frames of KWS_WINDOW int16 samples; stdout: KWS_N_MFCC int32 MFCCs (Q16) per frame. */
#include <stdio.h>

#include "kws_frontend.h"

int main(void) {
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
