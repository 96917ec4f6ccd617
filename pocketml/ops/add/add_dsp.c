/* ADD for cores with the DSP extension: the one out-of-line copy a model built for size calls for
 * every layer (built for speed, each layer inlines add_dsp.h). */
#include "add_dsp.h"

void pocketml_add_dsp(const pocketml_add_dsp_params *p, const int8_t *input1, const int8_t *input2,
                      int8_t *output) {
  pocketml_add_dsp_body(p, 0, input1, input2, output);
}
