/* MAXIMUM: the kernel's parameters and entry (pocketml/ops/maximum/, see maximum.c). */
#ifndef POCKETML_MAXIMUM_H
#define POCKETML_MAXIMUM_H

#include <stdint.h>

#include "pocketml_broadcast.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  pocketml_broadcast broadcast;
} pocketml_maximum_params;

/* output may be an operand of the output's shape (each element is read before it is written). */
void pocketml_maximum(const pocketml_maximum_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_MAXIMUM_H */
