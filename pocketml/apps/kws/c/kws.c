/* pocketml keyword spotting: the streaming detector (see kws.h). */
#include "kws.h"

#include <string.h>

#include "kws_frontend.h"
#include "kws_params.h"
#include "model.h"
#include "pocketml_fixedpoint.h"

static int16_t kws_audio[KWS_WINDOW];           /* samples of the frame being filled */
static size_t kws_audio_fill;                    /* samples held in kws_audio */
static int8_t kws_features[KWS_N_FRAMES][KWS_N_MFCC]; /* ring: frame t at t % KWS_N_FRAMES */
static uint32_t kws_frame_count;                 /* frames completed */
static int8_t kws_input[KWS_N_FRAMES * KWS_N_MFCC]; /* the model's input: the ring in time order */
static int8_t kws_posteriors[KWS_SMOOTH][KWS_N_CLASSES]; /* ring of the last KWS_SMOOTH outputs */
static uint32_t kws_inference_count;
static uint32_t kws_last_event; /* frame of the last detection */
static int kws_have_event;

void kws_reset(void) {
  kws_audio_fill = 0u;
  kws_frame_count = 0u;
  kws_inference_count = 0u;
  kws_have_event = 0;
  kws_last_event = 0u;
  memset(kws_features, 0, sizeof kws_features);
  memset(kws_posteriors, -128, sizeof kws_posteriors); /* an empty slot adds 0 to the sums */
}

uint32_t kws_frames(void) { return kws_frame_count; }

/* MFCC Q16 -> int8 model input: zero_point + (mfcc - mean) * multiplier, per coefficient. */
static void kws_quantize(const int32_t *mfcc_q16, int8_t *out) {
  for (int32_t j = 0; j < KWS_N_MFCC; ++j) {
    const int32_t v = pocketml_multiply_by_quantized_multiplier(mfcc_q16[j] - kws_feature_mean_q16[j],
                                                                kws_feature_multiplier[j],
                                                                kws_feature_left_shift[j],
                                                                kws_feature_right_shift[j]);
    out[j] = pocketml_clamp_int8(v + KWS_INPUT_ZERO_POINT, -128, 127);
  }
}

/* The model on the last KWS_N_FRAMES frames, the smoothed sums, the decision. 1 if an event was written. */
static int kws_infer(uint32_t frame, kws_event_t *event, int *status) {
  const uint32_t oldest = (frame + 1u) % KWS_N_FRAMES; /* frame - KWS_N_FRAMES + 1, in the ring */
  for (uint32_t i = 0; i < KWS_N_FRAMES; ++i) {
    memcpy(&kws_input[i * KWS_N_MFCC], kws_features[(oldest + i) % KWS_N_FRAMES], KWS_N_MFCC);
  }
  int8_t *slot = kws_posteriors[kws_inference_count % KWS_SMOOTH];
  if (KWS_MODEL_INVOKE(kws_input, slot) != 0) {
    *status = -2;
    return 0;
  }
  kws_inference_count++;
  int32_t best_sum = -1;
  int32_t best = -1;
  for (int32_t c = KWS_FIRST_KEYWORD; c < KWS_N_CLASSES; ++c) {
    int32_t sum = 0;
    for (int32_t k = 0; k < KWS_SMOOTH; ++k) {
      sum += (int32_t)kws_posteriors[k][c] + 128;
    }
    if (sum > best_sum) { /* the first of equal sums wins */
      best_sum = sum;
      best = c;
    }
  }
  if (best_sum < KWS_THRESHOLD_SUM) {
    return 0;
  }
  if (kws_have_event && frame - kws_last_event < (uint32_t)KWS_REFRACTORY_FRAMES) {
    return 0;
  }
  kws_have_event = 1;
  kws_last_event = frame;
  event->frame = frame;
  event->label = (uint8_t)best;
  event->reserved = 0u;
  event->score = (uint16_t)best_sum;
  return 1;
}

int kws_feed(const int16_t *pcm, size_t n, kws_event_t *events) {
  static int32_t mfcc[KWS_N_MFCC];
  static int initialised;
  if (!initialised) {
    kws_reset();
    initialised = 1;
  }
  if (n > 0u && (pcm == NULL || events == NULL)) {
    return -1;
  }
  int written = 0;
  int status = 0;
  while (n > 0u) {
    size_t take = KWS_WINDOW - kws_audio_fill;
    take = take < n ? take : n;
    memcpy(&kws_audio[kws_audio_fill], pcm, take * sizeof pcm[0]);
    kws_audio_fill += take;
    pcm += take;
    n -= take;
    if (kws_audio_fill < KWS_WINDOW) {
      break;
    }
    const uint32_t frame = kws_frame_count++;
    kws_frontend_frame(kws_audio, mfcc);
    kws_quantize(mfcc, kws_features[frame % KWS_N_FRAMES]);
    /* keep the last WINDOW - HOP samples: they start the next frame */
    memmove(kws_audio, &kws_audio[KWS_HOP], (KWS_WINDOW - KWS_HOP) * sizeof kws_audio[0]);
    kws_audio_fill = KWS_WINDOW - KWS_HOP;
    if (frame + 1u >= KWS_N_FRAMES && (frame + 1u - KWS_N_FRAMES) % KWS_EVERY == 0u) {
      written += kws_infer(frame, &events[written], &status);
      if (status != 0) {
        return status;
      }
    }
  }
  return written;
}
