/* pocketml_requant: per-output-channel requantization and the fused-activation clamp, shared by
 * the weighted kernels (conv2d, depthwise_conv2d, fully_connected; see pocketml/ops/requantize.py).
 * Kernels are context-free: a params struct, raw pointers, nothing else; every constant was
 * computed once by the converter. Layout is NHWC, batch 1.
 */
#ifndef POCKETML_REQUANT_H
#define POCKETML_REQUANT_H

#include <stdint.h>

#include "pocketml_fixedpoint.h"

/* Per-output-channel requantization and the fused-activation clamp (see requantize.py). */
typedef struct {
  const int32_t *multiplier;  /* [out_c] Q0.31 */
  const int8_t *left_shift;   /* [out_c] >= 0 */
  const int8_t *right_shift;  /* [out_c] >= 0 */
  int32_t output_offset;      /* output zero point */
  int32_t act_min, act_max;
} pocketml_requant;

/* Channel c's accumulator to int16 (TFLite's 16x8 kernels; output_offset is 0): `wide`, an int64
 * sum (an int64 bias) with TFLite's single-rounding int64 requantization; otherwise an int32 sum
 * (an int32 bias; the converter checked it cannot overflow) with the int8 kernels' double rounding. */
static inline int16_t pocketml_requantize_int16(const pocketml_requant *rq, int wide, int64_t acc, int32_t c) {
  const int32_t scaled =
      wide ? pocketml_multiply_by_quantized_multiplier_int64(acc, rq->multiplier[c],
                                                            rq->left_shift[c] - rq->right_shift[c])
           : pocketml_multiply_by_quantized_multiplier((int32_t)acc, rq->multiplier[c], rq->left_shift[c],
                                                       rq->right_shift[c]);
  return pocketml_clamp_int16(scaled + rq->output_offset, rq->act_min, rq->act_max);
}

#endif /* POCKETML_REQUANT_H */
