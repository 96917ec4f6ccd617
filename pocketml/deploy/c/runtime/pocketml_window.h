/* pocketml_window.h: which input positions an output pixel reads (the C twin of pocketml/ops/window.py).
 *
 * On each axis, output position o of a window op (CONV_2D, DEPTHWISE_CONV_2D, a max pool) reads input
 * positions  o * stride - pad + k * dilation  for k < kernel. A position outside the map is padding:
 * a conv's padding tap holds the input zero point, a max pool skips it.
 */
#ifndef POCKETML_WINDOW_H
#define POCKETML_WINDOW_H

#include <stdint.h>

/* Inlined at every call under gcc and clang: at -Os gcc would otherwise call them once per tap. */
#if defined(__GNUC__)
#define POCKETML_WINDOW_INLINE static inline __attribute__((always_inline))
#else
#define POCKETML_WINDOW_INLINE static inline
#endif

/* Whether input position (iy, ix) lies inside the in_h x in_w map (else the tap is padding). */
POCKETML_WINDOW_INLINE int pocketml_window_inside(int32_t iy, int32_t ix, int32_t in_h, int32_t in_w) {
  return iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
}

/* A max pool's window of output position o on one axis, clipped to the map [0, size): the input
 * positions [begin, end) of its taps inside the map. */
POCKETML_WINDOW_INLINE int32_t pocketml_window_begin(int32_t o, int32_t stride, int32_t pad) {
  const int32_t first = o * stride - pad;
  return first < 0 ? 0 : first;
}

POCKETML_WINDOW_INLINE int32_t pocketml_window_end(int32_t o, int32_t stride, int32_t pad, int32_t kernel, int32_t size) {
  const int32_t last = o * stride - pad + kernel;
  return last < size ? last : size;
}

/* Store v at *out; merge: keep *out where it is larger (a max pool fused into a conv: the window's
 * conv pixels arrive one after another, the first stored as is). */
POCKETML_WINDOW_INLINE void pocketml_window_max_store(int8_t *out, int8_t v, int merge) {
  *out = merge && *out > v ? *out : v;
}

#endif /* POCKETML_WINDOW_H */
