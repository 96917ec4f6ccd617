/* MINIMUM: the kernel's parameters and entry (pocketml/ops/minimum/, see minimum.c). */
#ifndef POCKETML_MINIMUM_H
#define POCKETML_MINIMUM_H

#include <stdint.h>

#include "pocketml_broadcast.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  pocketml_broadcast broadcast;
} pocketml_minimum_params;

/* output may be an operand of the output's shape (each element is read before it is written). */
void pocketml_minimum(const pocketml_minimum_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_MINIMUM_H */
