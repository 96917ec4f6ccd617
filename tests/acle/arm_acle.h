/* A portable emulation of the ACLE intrinsics pocketml's DSP kernels use, FOR TESTS ONLY.
 *
 * tests/test_dsp_kernels.py and tests/check_op.py compile the DSP kernels (pocketml_dsp.h and
 * the *_dsp.h headers) for the host with `-I tests/acle`, so that their arithmetic runs under
 * ASan and UBSan on every test input. Never shipped: an emitted C folder gets the compiler's own
 * <arm_acle.h>, on an Arm core with the DSP extension (Armv7E-M / Armv8-M Main).
 *
 * Each function follows the Arm Architecture Reference Manual's pseudocode for the instruction,
 * and aborts where the hardware would wrap silently (an SMLAD that overflows sets the Q flag and
 * wraps): the kernels' overflow bounds are checked by the converter, so an abort here is a bug.
 */
#ifndef POCKETML_TEST_ARM_ACLE_H
#define POCKETML_TEST_ARM_ACLE_H

#include <stdint.h>
#include <stdlib.h>

typedef int32_t int16x2_t;
typedef int32_t int8x4_t;

static inline int32_t pocketml_emu_lane(int32_t x, int hi) { /* sign-extended int16 lane */
  return (int32_t)(int16_t)(uint16_t)((uint32_t)x >> (hi ? 16 : 0));
}

static inline int32_t pocketml_emu_pack(int32_t lo, int32_t hi) { /* two int16 lanes, wrapping */
  return (int32_t)(((uint32_t)(uint16_t)lo) | ((uint32_t)(uint16_t)hi << 16));
}

static inline int32_t pocketml_emu_byte(int32_t x, int k) { /* sign-extended byte k */
  return (int32_t)(int8_t)(uint8_t)((uint32_t)x >> (8 * k));
}

static inline int32_t pocketml_emu_checked(int64_t v) {
  if (v < INT32_MIN || v > INT32_MAX) {
    abort(); /* the hardware would wrap and set Q: an overflow the converter should have excluded */
  }
  return (int32_t)v;
}

/* SXTB16: bytes 0 and 2, sign-extended into the two int16 lanes. */
static inline int16x2_t __sxtb16(int8x4_t x) {
  return pocketml_emu_pack(pocketml_emu_byte(x, 0), pocketml_emu_byte(x, 2));
}

/* SXTAB16: a's lanes plus bytes 0 and 2 of x, each lane wrapping at 16 bits. */
static inline int16x2_t __sxtab16(int16x2_t a, int8x4_t x) {
  return pocketml_emu_pack(pocketml_emu_lane(a, 0) + pocketml_emu_byte(x, 0),
                           pocketml_emu_lane(a, 1) + pocketml_emu_byte(x, 2));
}

/* SMLAD: acc + a.lo * b.lo + a.hi * b.hi. */
static inline int32_t __smlad(int16x2_t a, int16x2_t b, int32_t acc) {
  return pocketml_emu_checked((int64_t)acc + (int64_t)pocketml_emu_lane(a, 0) * pocketml_emu_lane(b, 0) +
                              (int64_t)pocketml_emu_lane(a, 1) * pocketml_emu_lane(b, 1));
}

/* SMLALD: acc + a.lo * b.lo + a.hi * b.hi in 64 bits (the hardware wraps at 2^64: aborts here). */
static inline int64_t __smlald(int16x2_t a, int16x2_t b, int64_t acc) {
  const int64_t sum = (int64_t)pocketml_emu_lane(a, 0) * pocketml_emu_lane(b, 0) +
                      (int64_t)pocketml_emu_lane(a, 1) * pocketml_emu_lane(b, 1);
  int64_t r;
  if (__builtin_add_overflow(acc, sum, &r)) {
    abort();
  }
  return r;
}

/* SMLABB / SMLATT: acc + the product of the bottom (top) lanes. */
static inline int32_t __smlabb(int32_t a, int32_t b, int32_t acc) {
  return pocketml_emu_checked((int64_t)acc + (int64_t)pocketml_emu_lane(a, 0) * pocketml_emu_lane(b, 0));
}

static inline int32_t __smlatt(int32_t a, int32_t b, int32_t acc) {
  return pocketml_emu_checked((int64_t)acc + (int64_t)pocketml_emu_lane(a, 1) * pocketml_emu_lane(b, 1));
}

/* SSAT: x saturated to a signed `bits`-bit range (the kernels use 8). */
static inline int32_t pocketml_emu_ssat(int32_t x, int bits) {
  const int32_t hi = (int32_t)((1u << (bits - 1)) - 1u), lo = -hi - 1;
  return x < lo ? lo : (x > hi ? hi : x);
}
#define __ssat(x, bits) pocketml_emu_ssat((x), (bits))

#endif /* POCKETML_TEST_ARM_ACLE_H */
