/* pocketml patch-based execution: moving patches between a map and a patch buffer (the C twin of
 * load_patch / fill_border in pocketml/graph/patch.py).
 *
 * A map is H x W x C int8 (NHWC, one sample); a patch is the h x w x C box whose top-left corner is
 * at (y0, x0) in the map, which may reach outside it (y0 < 0, y0 + h > H, ...). Positions of a patch
 * outside the map hold the map's zero point: what TFLite's padding means for the integer kernels.
 */
#ifndef POCKETML_PATCH_H
#define POCKETML_PATCH_H

#include <stdint.h>

static inline int32_t pocketml_patch_max(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t pocketml_patch_min(int32_t a, int32_t b) { return a < b ? a : b; }

/* Set the positions of patch `buf` (h x w x c at (y0, x0)) outside the H x W map to `zero_point`. */
static inline void pocketml_patch_border(int8_t *buf, int32_t h, int32_t w, int32_t c, int32_t y0, int32_t x0,
                                         int32_t H, int32_t W, int8_t zero_point) {
  const int32_t ya = pocketml_patch_max(0, -y0), yb = pocketml_patch_min(h, H - y0);
  const int32_t xa = pocketml_patch_max(0, -x0), xb = pocketml_patch_min(w, W - x0);
  for (int32_t y = 0; y < h; y++) {
    int8_t *row = buf + y * w * c;
    if (y < ya || y >= yb || xa >= xb) {
      for (int32_t i = 0; i < w * c; i++) row[i] = zero_point;
      continue;
    }
    for (int32_t i = 0; i < xa * c; i++) row[i] = zero_point;
    for (int32_t i = xb * c; i < w * c; i++) row[i] = zero_point;
  }
}

/* Copy patch (h x w x c at (y0, x0)) of the H x W map `map` into `buf`, the zero point outside the map. */
static inline void pocketml_patch_load(const int8_t *map, int32_t H, int32_t W, int32_t c, int32_t y0, int32_t x0,
                                       int8_t *buf, int32_t h, int32_t w, int8_t zero_point) {
  const int32_t ya = pocketml_patch_max(0, -y0), yb = pocketml_patch_min(h, H - y0);
  const int32_t xa = pocketml_patch_max(0, -x0), xb = pocketml_patch_min(w, W - x0);
  pocketml_patch_border(buf, h, w, c, y0, x0, H, W, zero_point);
  for (int32_t y = ya; y < yb; y++) {
    const int8_t *src = map + ((y0 + y) * W + x0 + xa) * c;
    int8_t *dst = buf + (y * w + xa) * c;
    for (int32_t i = 0; i < (xb - xa) * c; i++) dst[i] = src[i];
  }
}

/* Copy patch `buf` (h x w x c) into the W-wide map `map` at (y0, x0); the patch lies inside the map. */
static inline void pocketml_patch_store(const int8_t *buf, int32_t h, int32_t w, int32_t c, int8_t *map, int32_t W,
                                        int32_t y0, int32_t x0) {
  for (int32_t y = 0; y < h; y++) {
    const int8_t *src = buf + y * w * c;
    int8_t *dst = map + ((y0 + y) * W + x0) * c;
    for (int32_t i = 0; i < w * c; i++) dst[i] = src[i];
  }
}

#endif /* POCKETML_PATCH_H */
