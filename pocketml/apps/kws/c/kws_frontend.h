/* pocketml keyword spotting: the fixed-point audio front end (MFCC), one frame at a time.
 *
 * The C twin of pocketml/apps/kws/frontend.py (FixedFrontEnd): every step, constant and rounding
 * is the same, so the MFCCs are bit-exact with the numpy version. Integers only, static memory,
 * no heap. The constants (KWS_WINDOW, KWS_N_MFCC, ...) come from the generated kws_config.h.
 */
#ifndef KWS_FRONTEND_H
#define KWS_FRONTEND_H

#include <stdint.h>

#include "kws_config.h"

/* MFCCs in Q16 of one frame of KWS_WINDOW int16 samples (30 ms at 16 kHz).
 * Not reentrant: it works in static buffers. */
void kws_frontend_frame(const int16_t *samples, int32_t *mfcc_q16);

#endif /* KWS_FRONTEND_H */
