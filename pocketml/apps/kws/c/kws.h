/* pocketml keyword spotting: the streaming detector, audio in, detections out.
 *
 *   kws_feed(pcm, n, events)   any number of 16 kHz int16 samples; returns how many detections it
 *                              wrote to `events` (room for KWS_MAX_EVENTS(n) of them)
 *
 * Every 20 ms of audio completes one frame: the front end (kws_frontend.c) turns its 30 ms window
 * into MFCCs, quantized to int8 into a ring buffer of the last KWS_N_FRAMES frames. Every
 * KWS_EVERY frames (once the ring is full) the model (KWS_MODEL_INVOKE, emitted by pocketml)
 * classifies the last second; the posteriors of the last KWS_SMOOTH inferences are summed per
 * class, and the best keyword fires when its sum reaches KWS_THRESHOLD_SUM, unless a detection
 * happened less than KWS_REFRACTORY_FRAMES frames before. Static memory only; not reentrant.
 * Bit-exact with pocketml.apps.kws.detector.StreamingDetector (Python).
 */
#ifndef KWS_H
#define KWS_H

#include <stddef.h>
#include <stdint.h>

#include "kws_config.h"

typedef struct {
  uint32_t frame; /* index of the frame whose end completed the window: ends at (frame*HOP + WINDOW)/16 kHz */
  uint8_t label;  /* class index: KWS_FIRST_KEYWORD.. are the keywords (see KWS_LABELS) */
  uint8_t reserved;
  uint16_t score; /* the smoothed sum: sum over KWS_SMOOTH inferences of (posterior_q + 128) */
} kws_event_t;

/* At most one detection per inference, at most one inference per frame. */
#define KWS_MAX_EVENTS(n) ((size_t)(n) / (size_t)(KWS_HOP * KWS_EVERY) + 1u)

/* Feed n samples; returns the number of events written (0 if none), -1 if pcm or events is NULL
 * while n > 0, -2 if the model failed. */
int kws_feed(const int16_t *pcm, size_t n, kws_event_t *events);

/* Forget all audio and history (as after reset). */
void kws_reset(void);

/* Frames completed since the last reset (for callers that timestamp the stream). */
uint32_t kws_frames(void);

#endif /* KWS_H */
