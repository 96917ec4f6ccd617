/* pocketml_requant: per-output-channel requantization and the fused-activation clamp, shared by
 * the weighted kernels (conv2d, depthwise_conv2d, fully_connected; see pocketml/ops/requantize.py).
 * Kernels are context-free: a params struct, raw pointers, nothing else; every constant was
 * computed once by the converter. Layout is NHWC, batch 1.
 */
#ifndef POCKETML_REQUANT_H
#define POCKETML_REQUANT_H

#include <stdint.h>

/* Per-output-channel requantization and the fused-activation clamp (see requantize.py). */
typedef struct {
  const int32_t *multiplier;  /* [out_c] Q0.31 */
  const int8_t *left_shift;   /* [out_c] >= 0 */
  const int8_t *right_shift;  /* [out_c] >= 0 */
  int32_t output_offset;      /* output zero point */
  int32_t act_min, act_max;
} pocketml_requant;

#endif /* POCKETML_REQUANT_H */
