/* pocketml_train: the float32 arithmetic of the on-device training step (batch-1 SGD).
 *
 * The C twin of pocketml/graph/training.py (the classifier) and pocketml/graph/backward.py (the
 * backward rules). Every function performs the same float32 operations in the same order as its
 * numpy mirror, so the two agree bit for bit. That needs IEEE single precision without fused
 * multiply-add: compile with -ffp-contract=off (implied by GCC's -std=c99) and never -ffast-math.
 * Context-free like the inference kernels: params structs, raw pointers, no allocation.
 */
#ifndef POCKETML_TRAIN_H
#define POCKETML_TRAIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The classifier: z = W f + b with f[k] = input_scale * (x[k] - input_zero_point). */
typedef struct {
  int32_t depth, classes;
  int32_t input_zero_point;
  float input_scale;
} pocketml_train_head_params;

/* A body layer's backward to its input: CONV_2D (weights HWIO), FULLY_CONNECTED (weights
 * [out_c][depth], a 1x1 map) or DEPTHWISE_CONV_2D (depthwise = 1, weights [k_h][k_w][c]).
 * Weight (co, ky, kx, ci) sits at co * co_stride + ((ky * k_w + kx) * in_c + ci) * tap_stride. */
typedef struct {
  int32_t in_h, in_w, in_c, out_h, out_w, out_c;
  int32_t k_h, k_w, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  int32_t depthwise, co_stride, tap_stride;
  const int8_t *weights;
  const float *weight_scale; /* [out_c] */
} pocketml_train_conv_params;

typedef struct {
  int32_t in_h, in_w, out_h, out_w, channels;
  int32_t k_h, k_w, stride_h, stride_w, pad_top, pad_left;
} pocketml_train_pool_params;

/* A trained int32 bias: the C holds it folded (bias + fold, as the kernels read it). */
typedef struct {
  int32_t pixels, channels;
  const float *inv_scale; /* [channels] 1 / (s_x * s_w[c]) */
  const int32_t *fold;    /* [channels] input_offset * sum of the channel's weights */
  const int32_t *lo, *hi; /* [channels] limits of the true bias */
} pocketml_train_bias_params;

/* e^x for x <= 0 (0 below -80): range reduction by ln 2, degree-7 polynomial, 2^n from bits. */
float pocketml_train_exp(float x);

void pocketml_train_head_forward(const pocketml_train_head_params *p, const float *w, const float *b,
                                 const int8_t *x, float *logits);
/* In place: logits in, dL/dz = softmax(z) - onehot(label) out. */
void pocketml_train_softmax_grad(float *z, int32_t classes, int32_t label);
void pocketml_train_head_backward(const pocketml_train_head_params *p, const float *w, const float *grad_z,
                                  float *grad_x);
/* b -= lr * dL/dz; W -= (lr * dL/dz[c]) * f[k] unless w is NULL (frozen weights). */
void pocketml_train_head_update(const pocketml_train_head_params *p, const int8_t *x, const float *grad_z,
                                float lr, float *w, float *b);

/* Zero the gradient where the kept int8 output sits at a clamp bound (act_min or act_max). */
void pocketml_train_mask(float *grad, const int8_t *y, int32_t n, int32_t act_min, int32_t act_max);
void pocketml_train_conv_backward(const pocketml_train_conv_params *p, const float *grad_out, float *grad_in);
void pocketml_train_max_pool_backward(const pocketml_train_pool_params *p, const int8_t *input,
                                      const float *grad_out, float *grad_in);
void pocketml_train_mean_backward(const float *grad_out, int32_t pixels, int32_t channels, float inv_count,
                                  float *grad_in);
/* folded_bias += round(-(lr * sum over pixels of grad) * inv_scale), the true bias kept in [lo, hi]. */
void pocketml_train_bias_update(const pocketml_train_bias_params *p, const float *grad, float lr,
                                int32_t *folded_bias);

/* float32 values <-> an int32 bias: round half away from zero, clamp (weights import). */
int32_t pocketml_train_round_bias(float v, int32_t lo, int32_t hi);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_TRAIN_H */
