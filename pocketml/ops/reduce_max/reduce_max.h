/* REDUCE_MAX: the kernel's parameters and entry (pocketml/ops/reduce_max/, see reduce_max.c). */
#ifndef POCKETML_REDUCE_MAX_H
#define POCKETML_REDUCE_MAX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t outer, count, inner; /* the input as [outer, count, inner]; the max runs over count */
} pocketml_reduce_max_params;

void pocketml_reduce_max(const pocketml_reduce_max_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_REDUCE_MAX_H */
