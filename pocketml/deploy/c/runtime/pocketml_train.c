/* pocketml_train: the float32 arithmetic of the on-device training step (see pocketml_train.h).
 *
 * Mirrors pocketml/graph/training.py and pocketml/graph/backward.py operation for operation:
 * sums run in the order written here, starting from +0.0f, with no fused multiply-add. */
#include <string.h>

#include "pocketml_train.h"

#define POCKETML_EXP_CUTOFF (-80.0f)
#define POCKETML_QUANT_LIMIT 16777216.0f /* 2^24 */

float pocketml_train_exp(float x) {
  if (x < POCKETML_EXP_CUTOFF) {
    return 0.0f;
  }
  /* x = n ln2 + r, |r| <= ln2 / 2 (n rounds x log2(e) to nearest; x <= 0 so truncation is a ceiling) */
  const int32_t n = (int32_t)(x * 1.44269502f - 0.5f);
  const float nf = (float)n;
  float r = x - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const uint32_t bits = (uint32_t)(n + 127) << 23; /* 2^n, n in [-116, 0] */
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

void pocketml_train_head_forward(const pocketml_train_head_params *p, const float *w, const float *b,
                                 const int8_t *x, float *logits) {
  for (int32_t c = 0; c < p->classes; ++c) {
    float acc = b[c];
    for (int32_t k = 0; k < p->depth; ++k) {
      const float f = (float)(x[k] - p->input_zero_point) * p->input_scale;
      acc = acc + w[c * p->depth + k] * f;
    }
    logits[c] = acc;
  }
}

void pocketml_train_softmax_grad(float *z, int32_t classes, int32_t label) {
  float m = z[0];
  for (int32_t c = 1; c < classes; ++c) {
    m = z[c] > m ? z[c] : m;
  }
  float total = 0.0f;
  for (int32_t c = 0; c < classes; ++c) {
    z[c] = pocketml_train_exp(z[c] - m);
    total = total + z[c];
  }
  for (int32_t c = 0; c < classes; ++c) {
    z[c] = z[c] / total - (c == label ? 1.0f : 0.0f);
  }
}

void pocketml_train_head_backward(const pocketml_train_head_params *p, const float *w, const float *grad_z,
                                  float *grad_x) {
  for (int32_t k = 0; k < p->depth; ++k) {
    float acc = 0.0f;
    for (int32_t c = 0; c < p->classes; ++c) {
      acc = acc + w[c * p->depth + k] * grad_z[c];
    }
    grad_x[k] = acc;
  }
}

void pocketml_train_head_update(const pocketml_train_head_params *p, const int8_t *x, const float *grad_z,
                                float lr, float *w, float *b) {
  for (int32_t c = 0; c < p->classes; ++c) {
    const float t = lr * grad_z[c];
    b[c] = b[c] - t;
    if (w == 0) {
      continue;
    }
    for (int32_t k = 0; k < p->depth; ++k) {
      const float f = (float)(x[k] - p->input_zero_point) * p->input_scale;
      w[c * p->depth + k] = w[c * p->depth + k] - t * f;
    }
  }
}

void pocketml_train_mask(float *grad, const int8_t *y, int32_t n, int32_t act_min, int32_t act_max) {
  for (int32_t i = 0; i < n; ++i) {
    if (!(y[i] > act_min && y[i] < act_max)) {
      grad[i] = 0.0f;
    }
  }
}

static void conv_backward_dense(const pocketml_train_conv_params *p, const float *grad_out, float *grad_in) {
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      for (int32_t co = 0; co < p->out_c; ++co) {
        const float t = p->weight_scale[co] * grad_out[(oy * p->out_w + ox) * p->out_c + co];
        if (t == 0.0f) {
          continue;
        }
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
          const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
          if (iy < 0 || iy >= p->in_h) {
            continue;
          }
          for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
            if (ix < 0 || ix >= p->in_w) {
              continue;
            }
            float *g = grad_in + (iy * p->in_w + ix) * p->in_c;
            const int8_t *w = p->weights + co * p->co_stride + (ky * p->k_w + kx) * p->in_c * p->tap_stride;
            for (int32_t ci = 0; ci < p->in_c; ++ci) {
              g[ci] = g[ci] + t * (float)w[ci * p->tap_stride];
            }
          }
        }
      }
    }
  }
}

static void conv_backward_depthwise(const pocketml_train_conv_params *p, const float *grad_out, float *grad_in) {
  const int32_t c_n = p->out_c;
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      const float *go = grad_out + (oy * p->out_w + ox) * c_n;
      for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (iy < 0 || iy >= p->in_h) {
          continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
          const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
          if (ix < 0 || ix >= p->in_w) {
            continue;
          }
          float *g = grad_in + (iy * p->in_w + ix) * c_n;
          const int8_t *w = p->weights + (ky * p->k_w + kx) * c_n;
          for (int32_t c = 0; c < c_n; ++c) {
            const float t = p->weight_scale[c] * go[c];
            g[c] = g[c] + t * (float)w[c];
          }
        }
      }
    }
  }
}

void pocketml_train_conv_backward(const pocketml_train_conv_params *p, const float *grad_out, float *grad_in) {
  const int32_t n = p->in_h * p->in_w * p->in_c;
  for (int32_t i = 0; i < n; ++i) {
    grad_in[i] = 0.0f;
  }
  if (p->depthwise) {
    conv_backward_depthwise(p, grad_out, grad_in);
  } else {
    conv_backward_dense(p, grad_out, grad_in);
  }
}

void pocketml_train_max_pool_backward(const pocketml_train_pool_params *p, const int8_t *input,
                                      const float *grad_out, float *grad_in) {
  const int32_t n = p->in_h * p->in_w * p->channels;
  for (int32_t i = 0; i < n; ++i) {
    grad_in[i] = 0.0f;
  }
  for (int32_t oy = 0; oy < p->out_h; ++oy) {
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
      for (int32_t c = 0; c < p->channels; ++c) {
        int32_t best = -129; /* below any int8: the first tap in the window replaces it */
        int32_t at = -1;     /* stays -1 only for a window entirely in the padding */
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
          const int32_t iy = oy * p->stride_h - p->pad_top + ky;
          if (iy < 0 || iy >= p->in_h) {
            continue;
          }
          for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kx;
            if (ix < 0 || ix >= p->in_w) {
              continue;
            }
            const int32_t i = (iy * p->in_w + ix) * p->channels + c;
            if (input[i] > best) {
              best = input[i];
              at = i;
            }
          }
        }
        if (at >= 0) {
          grad_in[at] = grad_in[at] + grad_out[(oy * p->out_w + ox) * p->channels + c];
        }
      }
    }
  }
}

void pocketml_train_mean_backward(const float *grad_out, int32_t pixels, int32_t channels, float inv_count,
                                  float *grad_in) {
  for (int32_t q = 0; q < pixels; ++q) {
    for (int32_t c = 0; c < channels; ++c) {
      grad_in[q * channels + c] = grad_out[c] * inv_count;
    }
  }
}

static int32_t clamp_i32(int64_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : v > hi ? hi : (int32_t)v;
}

void pocketml_train_bias_update(const pocketml_train_bias_params *p, const float *grad, float lr,
                                int32_t *folded_bias) {
  for (int32_t c = 0; c < p->channels; ++c) {
    float acc = 0.0f;
    for (int32_t q = 0; q < p->pixels; ++q) {
      acc = acc + grad[q * p->channels + c];
    }
    float v = (lr * acc) * p->inv_scale[c];
    if (v != v) {
      v = 0.0f;
    }
    v = v > POCKETML_QUANT_LIMIT ? POCKETML_QUANT_LIMIT : v < -POCKETML_QUANT_LIMIT ? -POCKETML_QUANT_LIMIT : v;
    const int32_t step = (int32_t)(v >= 0.0f ? v + 0.5f : v - 0.5f);
    const int64_t bias = (int64_t)folded_bias[c] - p->fold[c] - step;
    folded_bias[c] = clamp_i32(bias, p->lo[c], p->hi[c]) + p->fold[c];
  }
}

int32_t pocketml_train_round_bias(float v, int32_t lo, int32_t hi) {
  if (v != v) {
    v = 0.0f;
  }
  v = v > POCKETML_QUANT_LIMIT ? POCKETML_QUANT_LIMIT : v < -POCKETML_QUANT_LIMIT ? -POCKETML_QUANT_LIMIT : v;
  return clamp_i32((int64_t)(v >= 0.0f ? v + 0.5f : v - 0.5f), lo, hi);
}
