/* SOFTMAX over the last axis, int8 -> int8 (the C twin of pocketml/ops/softmax/op.py).
 *
 * TFLite Micro's fixed-point method; output scale 1/256, zero point -128. Per row:
 *   d[c] = x[c] - max(x) <= 0; taps with d < diff_min count as exp = 0
 *   e[c] = exp(d[c] * s_x) in Q0.31   (d rescaled to Q5.26, then exp_on_negative_values)
 *   S    = sum of e[c] in Q12.19;  1/S = scale * 2^-bits  (get_reciprocal)
 *   y[c] = clamp(round(scale * e[c] / 2^(bits + 23)) - 128, -128, 127)
 * |d| * 2^input_left_shift <= 31 * 2^26 whenever d >= diff_min: no overflow; depth < 4096.
 * The output may not overlap the input (the row is read three times).
 *
 * p->int16: int16 in and out (TFLite's 16x8 models; pocketml/ops/softmax/int16.py): per row
 *   e[c] = LUT_exp(clamp(d[c] * M + 32767))     [-65535, 0] is [-10, 0]; e in Q0.15, kept in the output
 *   S    = sum of e[c];  h = clz(S);  s = ((S << (h - 1)) + 2^13) >> 14
 *   r    = LUT_recip(clamp(s - 2^15 - 2^16))    1/S in Q0.15
 *   y[c] = clamp((e[c] * r + 2^(30 - h)) >> (31 - h), 0, 32767)
 * LUT(v) = lut[256 + (v >> 7)] + ((slope * (v & 127) + 64) >> 7), slope to the next entry.
 * S >= LUT_exp(32767) (the row's maximum), so h <= 17.
 */
#include <string.h>

#include "pocketml_fixedpoint.h"
#include "softmax.h"

/* Output element c: int8, or int16 (output_bits 16: 1/65536, -32768) stored bytewise. */
static void pocketml_softmax_store(const pocketml_softmax_params *p, int8_t *row, int32_t c, int32_t unsat) {
  if (p->output_bits == 16) {
    const int32_t v = unsat - 32768;
    const int16_t w = (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
    memcpy(row + 2 * c, &w, sizeof w);
  } else {
    row[c] = pocketml_clamp_int8(unsat - 128, -128, 127);
  }
}

static int32_t pocketml_softmax_exp(const pocketml_softmax_params *p, int32_t diff) {
  const int32_t rescaled =
      pocketml_srdhm(diff * ((int32_t)1 << p->input_left_shift), p->input_multiplier);
  return pocketml_exp_on_negative_values_q5(rescaled);
}

/* an interpolated 513-entry table at v in [-32768, 32767] */
static int32_t pocketml_softmax_lut(const int16_t *lut, int32_t v) {
  const int32_t index = (v + 32768) >> 7;
  const int32_t offset = (v + 32768) & 0x7f;
  const int32_t slope = (int32_t)lut[index + 1] - lut[index];
  return (int16_t)(lut[index] + ((slope * offset + 64) >> 7));
}

static int32_t pocketml_softmax_clamp16(int32_t v) {
  return v < -32768 ? -32768 : (v > 32767 ? 32767 : v);
}

static void pocketml_softmax_int16(const pocketml_softmax_params *p, const int16_t *input, int16_t *output) {
  for (int32_t r = 0; r < p->rows; ++r) {
    const int16_t *x = input + r * p->depth;
    int16_t *y = output + r * p->depth;
    int32_t max_in_row = -32768, sum = 0, headroom = 0, recip, shift;
    for (int32_t c = 0; c < p->depth; ++c) {
      max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
    }
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t scaled = pocketml_multiply_by_quantized_multiplier(
          (int32_t)x[c] - max_in_row, p->input_multiplier, p->input_left_shift, p->input_right_shift);
      y[c] = (int16_t)pocketml_softmax_lut(p->exp_lut, pocketml_softmax_clamp16(scaled + 32767));
      sum += y[c];
    }
    while (headroom < 32 && ((uint32_t)sum << headroom) < 0x80000000u) {
      ++headroom;
    }
    recip = pocketml_softmax_lut(
        p->recip_lut,
        pocketml_softmax_clamp16((int32_t)((((int64_t)sum << (headroom - 1)) + (1 << 13)) >> 14) - (1 << 15) -
                                 (1 << 16)));
    shift = 31 - headroom;
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t v = (int32_t)(((int64_t)y[c] * recip + ((int64_t)1 << (shift - 1))) >> shift);
      y[c] = (int16_t)(v < 0 ? 0 : (v > 32767 ? 32767 : v));
    }
  }
}

void pocketml_softmax(const pocketml_softmax_params *p, const void *input_bytes, void *output) {
  const int8_t *input = (const int8_t *)input_bytes;
  if (p->int16) {
    pocketml_softmax_int16(p, (const int16_t *)input_bytes, (int16_t *)output);
    return;
  }
  for (int32_t r = 0; r < p->rows; ++r) {
    const int8_t *x = input + r * p->depth;
    int8_t *y = (int8_t *)output + r * p->depth * (p->output_bits == 16 ? 2 : 1);
    int32_t max_in_row = -128;
    int32_t sum_of_exps = 0; /* Q12.19 */
    int32_t bits = 0;
    int32_t scale;
    int32_t exponent;
    for (int32_t c = 0; c < p->depth; ++c) {
      max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
    }
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t diff = (int32_t)x[c] - max_in_row;
      if (diff >= p->diff_min) {
        sum_of_exps += pocketml_srmbp(pocketml_softmax_exp(p, diff), -12);
      }
    }
    scale = pocketml_get_reciprocal(sum_of_exps, 12, &bits);
    exponent = bits + 31 - (p->output_bits == 16 ? 16 : 8);
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t diff = (int32_t)x[c] - max_in_row;
      if (diff >= p->diff_min) {
        const int32_t unsat = pocketml_rounding_divide_by_pot(
            pocketml_srdhm(scale, pocketml_softmax_exp(p, diff)), exponent);
        pocketml_softmax_store(p, y, c, unsat);
      } else {
        pocketml_softmax_store(p, y, c, 0);  /* the lowest probability: -128 (-32768) */
      }
    }
  }
}
