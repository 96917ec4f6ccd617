/* SVDF for cores with the DSP extension: the one out-of-line copy a model built for size calls for
 * every layer (built for speed, each layer inlines svdf_dsp.h). */
#include "svdf_dsp.h"

void pocketml_svdf_dsp(const pocketml_svdf_dsp_params *p, const int8_t *input, int8_t *output) {
  pocketml_svdf_dsp_body(p, 0, input, output);
}
