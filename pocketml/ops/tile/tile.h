/* TILE: the kernel's parameters and entry (pocketml/ops/tile/, see tile.c). */
#ifndef POCKETML_TILE_H
#define POCKETML_TILE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t dims[4];       /* the output's shape, padded on the left to 4 axes */
  int32_t in_dims[4];    /* the input's shape, likewise */
  int32_t in_strides[4]; /* the input's element strides */
} pocketml_tile_params;

void pocketml_tile(const pocketml_tile_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_TILE_H */
