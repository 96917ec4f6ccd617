/* pocketml_window.h: which input positions an output pixel reads (the C twin of pocketml/ops/window.py).
 *
 * On each axis, output position o of a window op (CONV_2D, DEPTHWISE_CONV_2D, a max pool) reads input
 * positions  o * stride - pad + k * dilation  for k < kernel. A position outside the map is padding:
 * a conv's padding tap holds the input zero point, a max pool skips it.
 */
#ifndef POCKETML_WINDOW_H
#define POCKETML_WINDOW_H

#include <stdint.h>

/* Inlined at every call under gcc and clang: at -Os gcc would otherwise call these helpers once per
 * tap (and the depthwise channel block out of line; measured in QEMU, the conv block is faster left
 * to gcc). */
#if defined(__GNUC__)
#define POCKETML_KERNEL_INLINE static inline __attribute__((always_inline))
#else
#define POCKETML_KERNEL_INLINE static inline
#endif

/* Whether input position (iy, ix) lies inside the in_h x in_w map (else the tap is padding). */
POCKETML_KERNEL_INLINE int pocketml_window_inside(int32_t iy, int32_t ix, int32_t in_h, int32_t in_w) {
  return iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
}

/* A max pool fused into a conv's epilogue (h 0: none): its window over the conv's map and the pooled
 * map it writes. */
typedef struct {
  int32_t h, w, stride_h, stride_w, pad_top, pad_left; /* the window */
  int32_t out_h, out_w;                                /* the pooled map */
} pocketml_window_pool;

/* A box of map pixels: rows [y, y + rows), columns [x, x + cols). */
typedef struct {
  int32_t y, x, rows, cols;
} pocketml_window_box;

/* The conv pixels pooled into output pixel (py, px) of `pool` over the map_h x map_w map: its window's
 * taps inside the map. */
POCKETML_KERNEL_INLINE pocketml_window_box pocketml_window_pool_box(const pocketml_window_pool *pool, int32_t py,
                                                                 int32_t px, int32_t map_h, int32_t map_w) {
  const int32_t y0 = py * pool->stride_h - pool->pad_top, x0 = px * pool->stride_w - pool->pad_left;
  pocketml_window_box box;
  box.y = y0 < 0 ? 0 : y0;
  box.x = x0 < 0 ? 0 : x0;
  box.rows = (y0 + pool->h < map_h ? y0 + pool->h : map_h) - box.y;
  box.cols = (x0 + pool->w < map_w ? x0 + pool->w : map_w) - box.x;
  return box;
}

/* Store v at *out; merge: keep *out where it is larger (a max pool fused into a conv: the window's
 * conv pixels arrive one after another, the first stored as is). */
POCKETML_KERNEL_INLINE void pocketml_window_max_store(int8_t *out, int8_t v, int merge) {
  *out = merge && *out > v ? *out : v;
}

#endif /* POCKETML_WINDOW_H */
