/* FULLY_CONNECTED for cores with the DSP extension: the one out-of-line copy a model built for
 * size calls for every layer (built for speed, each layer inlines fully_connected_dsp.h). */
#include "fully_connected_dsp.h"

void pocketml_fully_connected_dsp(const pocketml_fully_connected_dsp_params *p, const void *input, void *output) {
  pocketml_fully_connected_dsp_body(p, 0, input, output); /* size builds store int8 weights */
}
