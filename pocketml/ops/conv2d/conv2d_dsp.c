/* CONV_2D for cores with the DSP extension: the one out-of-line copy a model built for size
 * calls for every layer (a model built for speed inlines conv2d_dsp.h into one function per layer,
 * its shapes folded in as constants). */
#include "conv2d_dsp.h"

void pocketml_conv2d_dsp(const pocketml_conv2d_dsp_params *p, const void *input, void *output) {
  pocketml_conv2d_dsp_body(p, 0, input, output); /* size builds store int8 weights */
}
