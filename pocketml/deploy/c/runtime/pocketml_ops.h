/* pocketml kernels: one op per .c file, context-free (a params struct, raw pointers, nothing
 * else). Every constant (offsets, multipliers, shifts, clamps) was computed once by the
 * converter; the kernels do integer arithmetic only. Layout is NHWC, batch 1.
 */
#ifndef POCKETML_OPS_H
#define POCKETML_OPS_H

#include <stdint.h>

/* Per-output-channel requantization and the fused-activation clamp (see requantize.py). */
typedef struct {
  const int32_t *multiplier;  /* [out_c] Q0.31 */
  const int8_t *left_shift;   /* [out_c] >= 0 */
  const int8_t *right_shift;  /* [out_c] >= 0 */
  int32_t output_offset;      /* output zero point */
  int32_t act_min, act_max;
} pocketml_requant;

typedef struct {
  int32_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
  int32_t stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  int32_t input_offset;       /* minus the input zero point */
  const int8_t *weights;      /* OHWI */
  const int32_t *bias;        /* [out_c] */
  pocketml_requant rq;
} pocketml_conv2d_params;

typedef struct {
  int32_t depth, out_c;
  int32_t input_offset;
  const int8_t *weights;      /* [out_c][depth] */
  const int32_t *bias;
  pocketml_requant rq;
} pocketml_fully_connected_params;

typedef struct {
  int32_t in_h, in_w, channels, out_h, out_w, k_h, k_w;
  int32_t stride_h, stride_w, pad_top, pad_left;
  int32_t act_min, act_max;
} pocketml_max_pool2d_params;

void pocketml_conv2d(const pocketml_conv2d_params *p, const int8_t *input, int8_t *output);
void pocketml_fully_connected(const pocketml_fully_connected_params *p, const int8_t *input,
                              int8_t *output);
void pocketml_max_pool2d(const pocketml_max_pool2d_params *p, const int8_t *input, int8_t *output);

#endif /* POCKETML_OPS_H */
