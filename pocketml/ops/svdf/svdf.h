/* SVDF: the kernel's parameters and entry (pocketml/ops/svdf/, see svdf.c). */
#ifndef POCKETML_SVDF_H
#define POCKETML_SVDF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t n_input, n_filter, n_memory, rank, n_unit;
  int32_t input_offset;                    /* -input zero point */
  int32_t feature_multiplier, feature_left_shift, feature_right_shift;  /* M1 = s_x s_wf / s_state */
  int32_t time_multiplier, time_left_shift, time_right_shift;           /* M2 = s_state s_wt / s_y */
  int32_t state_zero_point, output_zero_point;
  const int8_t *weights_feature;           /* [n_filter][n_input] */
  const int16_t *weights_time16;           /* [n_filter][n_memory]: int16 memory (else NULL) */
  const int8_t *weights_time8;             /* [n_filter][n_memory]: int8 memory (else NULL) */
  const int32_t *bias;                     /* [n_unit] */
  int16_t *state16;                        /* [n_filter][n_memory], kept between calls (int16 memory) */
  int8_t *state8;                          /* the same, int8 memory */
} pocketml_svdf_params;

void pocketml_svdf(const pocketml_svdf_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_SVDF_H */
