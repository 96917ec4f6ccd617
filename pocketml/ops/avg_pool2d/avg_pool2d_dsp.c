/* AVERAGE_POOL_2D for cores with the DSP extension: the one out-of-line copy a model built for
 * size calls for every layer (built for speed, each layer inlines avg_pool2d_dsp.h). */
#include "avg_pool2d_dsp.h"

void pocketml_avg_pool2d_dsp(const pocketml_avg_pool2d_dsp_params *p, const int8_t *input,
                             int8_t *output) {
  pocketml_avg_pool2d_dsp_body(p, 0, input, output);
}
