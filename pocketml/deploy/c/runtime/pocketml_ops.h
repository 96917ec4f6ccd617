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
  const int8_t *weights;      /* HWIO: [k_h][k_w][in_c][out_c] */
  const int32_t *bias;        /* [out_c] bias + input_offset * sum of the channel's weights */
  pocketml_requant rq;
} pocketml_conv2d_params;

typedef struct {
  int32_t depth, out_c;
  int32_t input_offset;
  const int8_t *weights;      /* [out_c][depth] */
  const int32_t *bias;        /* [out_c] bias + input_offset * sum of the channel's weights */
  pocketml_requant rq;
} pocketml_fully_connected_params;

typedef struct {
  int32_t in_h, in_w, channels, out_h, out_w, k_h, k_w;
  int32_t stride_h, stride_w, pad_top, pad_left;
  int32_t act_min, act_max;
} pocketml_max_pool2d_params;

typedef struct {
  int32_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, depth_multiplier;
  int32_t stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  int32_t input_offset;       /* minus the input zero point */
  const int8_t *weights;      /* [1][k_h][k_w][out_c] */
  const int32_t *bias;        /* [out_c] bias + input_offset * sum of the channel's weights */
  pocketml_requant rq;
} pocketml_depthwise_conv2d_params;

typedef struct {
  int32_t in_h, in_w, channels, out_h, out_w, k_h, k_w;
  int32_t stride_h, stride_w, pad_top, pad_left;
  int32_t act_min, act_max;
} pocketml_avg_pool2d_params;

typedef struct {
  int32_t count, channels;    /* count = in_h * in_w */
  int32_t input_zero_point;
  int32_t multiplier, left_shift, right_shift;
  int32_t output_zero_point;
} pocketml_mean_params;

typedef struct {
  int32_t size;
  int32_t input1_offset, input2_offset; /* minus the input zero points */
  int32_t input1_multiplier, input1_right_shift;
  int32_t input2_multiplier, input2_right_shift;
  int32_t output_multiplier, output_right_shift;
  int32_t output_offset, act_min, act_max;
} pocketml_add_params;

typedef struct {
  int32_t n_inputs, outer;    /* outer = elements before the channel axis */
  const int32_t *depths;      /* channels of each input */
} pocketml_concatenation_params;

typedef struct {
  int32_t in_h, in_w, channels, pad_top, pad_bottom, pad_left, pad_right;
  int32_t pad_value;          /* the zero point */
} pocketml_pad_params;

typedef struct {
  int32_t size, input_zero_point, multiplier, left_shift, right_shift, output_zero_point;
  int32_t act_min, act_max;
} pocketml_relu_params;

typedef struct {
  int32_t size, zero, six;
} pocketml_relu6_params;

typedef struct {
  int32_t rows, depth;
  int32_t input_multiplier, input_left_shift, diff_min;
} pocketml_softmax_params;

void pocketml_conv2d(const pocketml_conv2d_params *p, const int8_t *input, int8_t *output);
void pocketml_fully_connected(const pocketml_fully_connected_params *p, const int8_t *input,
                              int8_t *output);
void pocketml_max_pool2d(const pocketml_max_pool2d_params *p, const int8_t *input, int8_t *output);

void pocketml_depthwise_conv2d(const pocketml_depthwise_conv2d_params *p, const int8_t *input,
                               int8_t *output);
void pocketml_avg_pool2d(const pocketml_avg_pool2d_params *p, const int8_t *input, int8_t *output);
void pocketml_mean(const pocketml_mean_params *p, const int8_t *input, int8_t *output);
/* Element-wise ops (add, relu, relu6) may write over an input (output == input): each element is
 * read before it is written. */
void pocketml_add(const pocketml_add_params *p, const int8_t *input1, const int8_t *input2,
                  int8_t *output);
void pocketml_concatenation(const pocketml_concatenation_params *p, const int8_t *const *inputs,
                            int8_t *output);
void pocketml_pad(const pocketml_pad_params *p, const int8_t *input, int8_t *output);
void pocketml_relu(const pocketml_relu_params *p, const int8_t *input, int8_t *output);
void pocketml_relu6(const pocketml_relu6_params *p, const int8_t *input, int8_t *output);
void pocketml_softmax(const pocketml_softmax_params *p, const int8_t *input, int8_t *output);

#endif /* POCKETML_OPS_H */
