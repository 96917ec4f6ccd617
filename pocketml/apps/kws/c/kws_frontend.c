/* pocketml keyword spotting: the fixed-point MFCC front end (see kws_frontend.h).
 *
 * Per frame (bounds are checked in frontend.py, FixedFrontEnd._check_bounds):
 *   1. p = x * w_q30 (int64, |p| < 2^45); y = p * 2^s, s = 29 - bitlen(max|p|) (s < 0: rounded >> -s)
 *   2. 512-point real FFT = 256-point complex radix-2 FFT of (y[2n], y[2n+1]): Q31 twiddles,
 *      every stage halves: a' = (a >> 1) +- ((b*w) >> 32) (the high word of one SMULL); then the
 *      real split, halved too, for the bins the mel filters use: X/256
 *   3. magnitude floor(sqrt(re^2 + im^2)) on the top 32 bits of the power (Newton, exact floor)
 *   4. mel energies: Q15 weights, uint64 sums; real mel = mel * 2^-(KWS_MEL_EXPONENT + s)
 *      (KWS_MEL_EXPONENT = 52)
 *   5. log2(mel + offset[s]) in Q16 minus (KWS_MEL_EXPONENT + s) << 16
 *   6. DCT (Q24 coefficients of D ln 2), (acc + 2^23) >> 24: MFCCs in Q16
 * Right shifts of negative values are arithmetic (as on gcc, clang and armcc); no left shift is
 * applied to a negative value (block scaling multiplies).
 */
#include "kws_frontend.h"

#include "kws_tables.h"

#define KWS_FFT_N 256
#define KWS_PRODUCT_SHIFT (KWS_TWIDDLE_BITS + 1) /* Q31 twiddle, and the stage's halving: 32 */

static int32_t kws_re[KWS_FFT_N];
static int32_t kws_im[KWS_FFT_N];
static uint32_t kws_mag[KWS_N_BINS];
static int32_t kws_log_mel[KWS_N_MEL];

static uint32_t kws_bit_length_u64(uint64_t v) {
#if defined(__GNUC__)
  return v == 0u ? 0u : 64u - (uint32_t)__builtin_clzll(v); /* CLZ on Cortex-M3 and up */
#else
  uint32_t n = 0u;
  while (v != 0u) {
    v >>= 1;
    n++;
  }
  return n;
#endif
}

/* floor(sqrt(v)): Newton's method from above (r0 = 2^ceil(bits/2) >= sqrt(v)) stops at the floor. */
static uint32_t kws_isqrt32(uint32_t v) {
  if (v < 2u) {
    return v;
  }
  uint32_t r = (uint32_t)1 << ((kws_bit_length_u64(v) + 1u) >> 1);
  for (;;) {
    const uint32_t next = (r + v / r) >> 1;
    if (next >= r) {
      return r;
    }
    r = next;
  }
}

/* isqrt(v >> 2k) << k, the smallest k leaving at most KWS_SQRT_BITS bits. */
static uint32_t kws_sqrt_top_bits(uint64_t v) {
  const uint32_t bits = kws_bit_length_u64(v);
  const uint32_t k = bits + 1u > KWS_SQRT_BITS ? (bits + 1u - KWS_SQRT_BITS) >> 1 : 0u;
  return kws_isqrt32((uint32_t)(v >> (2u * k))) << k;
}

/* log2(v) in Q16 for v >= 1: exponent, then the table on the mantissa with linear interpolation. */
static int32_t kws_log2_q16(uint64_t v) {
  const uint32_t e = kws_bit_length_u64(v) - 1u;
  const uint64_t m = v << (63u - e); /* bit 63 set */
  const uint32_t idx = (uint32_t)(m >> (63 - KWS_LOG_TABLE_BITS)) & ((1u << KWS_LOG_TABLE_BITS) - 1u);
  const int32_t rem = (int32_t)((m >> (63 - KWS_LOG_TABLE_BITS - KWS_LOG_INTERP_BITS)) &
                                ((1u << KWS_LOG_INTERP_BITS) - 1u));
  const int32_t a = kws_log_table[idx];
  const int32_t b = kws_log_table[idx + 1u];
  /* (b - a) <= 736 and rem < 2^16: the product fits int32 */
  const int32_t frac = a + (((b - a) * rem + (1 << (KWS_LOG_INTERP_BITS - 1))) >> KWS_LOG_INTERP_BITS);
  return (int32_t)(e << KWS_LOG_FRAC_BITS) + frac;
}

/* Step 1: window and block scaling into bit-reversed (even -> re, odd -> im) order. Returns s. */
static int32_t kws_window(const int16_t *x) {
  uint64_t peak = 0u;
  for (int32_t n = 0; n < KWS_WINDOW; ++n) {
    const int64_t p = (int64_t)x[n] * kws_window_q30[n]; /* |p| < 2^45 */
    const uint64_t a = (uint64_t)(p < 0 ? -p : p);
    peak = a > peak ? a : peak;
  }
  const int32_t s = KWS_BLOCK_BITS - (int32_t)kws_bit_length_u64(peak); /* >= KWS_MIN_SHIFT */
  const int64_t scale = s > 0 ? (int64_t)1 << s : 1;
  const int32_t down = s < 0 ? -s : 0;
  const int64_t half = down > 0 ? (int64_t)1 << (down - 1) : 0;
  for (int32_t n = 0; n < 2 * KWS_FFT_N; ++n) {
    int32_t y = 0;
    if (n < KWS_WINDOW) {
      const int64_t p = (int64_t)x[n] * kws_window_q30[n];
      y = (int32_t)(s < 0 ? (p + half) >> down : p * scale); /* |y| <= 2^29 */
    }
    if ((n & 1) == 0) {
      kws_re[kws_bitrev[n >> 1]] = y;
    } else {
      kws_im[kws_bitrev[n >> 1]] = y;
    }
  }
  return s;
}

static int32_t kws_mul_half(int32_t a, int32_t w) { return (int32_t)(((int64_t)a * w) >> KWS_PRODUCT_SHIFT); }

/* Step 2a: in-place radix-2 decimation-in-time FFT of (kws_re, kws_im), halving at every stage. */
static void kws_fft256(void) {
  for (int32_t size = 2; size <= KWS_FFT_N; size *= 2) {
    const int32_t half = size / 2;
    const int32_t step = KWS_FFT_N / size;
    for (int32_t j = 0; j < half; ++j) {
      const int32_t wr = kws_fft_cos[j * step];
      const int32_t wi = -kws_fft_sin[j * step]; /* W = exp(-2 pi i k / 256) */
      for (int32_t a = j; a < KWS_FFT_N; a += size) {
        const int32_t b = a + half;
        const int32_t br = kws_re[b], bi = kws_im[b];
        const int32_t tr = kws_mul_half(br, wr) - kws_mul_half(bi, wi);
        const int32_t ti = kws_mul_half(bi, wr) + kws_mul_half(br, wi);
        const int32_t ar = kws_re[a] >> 1, ai = kws_im[a] >> 1;
        kws_re[a] = ar + tr;
        kws_im[a] = ai + ti;
        kws_re[b] = ar - tr;
        kws_im[b] = ai - ti;
      }
    }
  }
}

/* Steps 2b and 3: the real split (halved) for bins KWS_BIN_LO.. and their magnitudes. */
static void kws_magnitudes(void) {
  for (int32_t i = 0; i < KWS_N_BINS; ++i) {
    const int32_t k = KWS_BIN_LO + i;
    const int64_t ar = kws_re[k], ai = kws_im[k];
    const int64_t br = kws_re[KWS_FFT_N - k], bi = -(int64_t)kws_im[KWS_FFT_N - k]; /* conj(Z[256 - k]) */
    const int64_t sr = ar + br, si = ai + bi, dr = ar - br, di = ai - bi;
    const int64_t wr = kws_split_cos[i];
    const int64_t wi = -(int64_t)kws_split_sin[i]; /* W = exp(-2 pi i k / 512) */
    const int64_t xr = (sr >> 1) + ((wr * di + wi * dr) >> KWS_PRODUCT_SHIFT);
    const int64_t xi = (si >> 1) + ((wi * di - wr * dr) >> KWS_PRODUCT_SHIFT);
    kws_mag[i] = kws_sqrt_top_bits((uint64_t)(xr * xr + xi * xi)); /* < 2^62 */
  }
}

/* Steps 4 and 5: log2 of the mel energies in Q16, scale removed. */
static void kws_mel_log(int32_t s) {
  for (int32_t m = 0; m < KWS_N_MEL; ++m) {
    uint64_t acc = 0u;
    const int32_t first = kws_mel_first[m];
    const int32_t offset = kws_mel_offset[m];
    for (int32_t i = 0; i < kws_mel_count[m]; ++i) {
      acc += (uint64_t)kws_mag[first + i] * kws_mel_weights[offset + i];
    }
    kws_log_mel[m] = kws_log2_q16(acc + kws_log_offset[s - KWS_MIN_SHIFT]) - ((KWS_MEL_EXPONENT + s) << KWS_LOG_FRAC_BITS);
  }
}

void kws_frontend_frame(const int16_t *samples, int32_t *mfcc_q16) {
  const int32_t s = kws_window(samples);
  kws_fft256();
  kws_magnitudes();
  kws_mel_log(s);
  for (int32_t j = 0; j < KWS_N_MFCC; ++j) { /* step 6: the DCT */
    int64_t acc = 0;
    for (int32_t m = 0; m < KWS_N_MEL; ++m) {
      acc += (int64_t)kws_dct_q24[j * KWS_N_MEL + m] * kws_log_mel[m];
    }
    mfcc_q16[j] = (int32_t)((acc + ((int64_t)1 << (KWS_DCT_BITS - 1))) >> KWS_DCT_BITS);
  }
}
