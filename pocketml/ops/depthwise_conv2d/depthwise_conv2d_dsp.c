/* DEPTHWISE_CONV_2D for cores with the DSP extension: the one out-of-line copy a model built for
 * size calls for every layer (built for speed, each layer inlines depthwise_conv2d_dsp.h). */
#include "depthwise_conv2d_dsp.h"

void pocketml_depthwise_conv2d_dsp(const pocketml_depthwise_conv2d_dsp_params *p, const void *input,
                                   void *output) {
  pocketml_depthwise_conv2d_dsp_body(p, 0, input, output); /* size builds store int8 weights */
}
