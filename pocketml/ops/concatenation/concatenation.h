/* CONCATENATION: the kernel's parameters and entry (pocketml/ops/concatenation/, see concatenation.c). */
#ifndef POCKETML_CONCATENATION_H
#define POCKETML_CONCATENATION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t n_inputs, outer;    /* outer = elements before the channel axis */
  const int32_t *depths;      /* channels of each input */
} pocketml_concatenation_params;

void pocketml_concatenation(const pocketml_concatenation_params *p, const int8_t *const *inputs,
                            int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* POCKETML_CONCATENATION_H */
