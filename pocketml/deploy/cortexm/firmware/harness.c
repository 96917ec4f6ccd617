/* pocketml QEMU harness for Cortex-M: startup, semihosting I/O and the measurement loop.
 *
 * Built by pocketml/deploy/cortexm/build.py together with the emitted model.c and kernels, for
 * `qemu-system-arm -M mps2-an386 -semihosting -icount shift=0`. Not part of the deployed model:
 * its size is excluded from the flash / RAM figures.
 *
 * Protocol (files in QEMU's working directory, opened through Arm semihosting, bkpt 0xAB):
 *   inputs.bin   N records of @P@_INPUT_BYTES int8 values (NHWC, batch 1)
 *   outputs.bin  N records of @P@_OUTPUT_BYTES int8 values, written by the harness
 *   stats.bin    N records of 2 x uint32: SysTick ticks of the invoke call, stack bytes it used
 *   calib.bin    1 record of 2 x uint32: SysTick ticks of a loop of CALIB_INSNS instructions, and
 *                of an empty measurement window
 *   layers.bin   (built with -DPOCKETML_PROFILE only) per input, one record of 2 x uint32 per
 *                layer: the op index model.c passed to pocketml_profile_layer() after running it,
 *                and the SysTick ticks since the invoke call began
 * Exit status (SYS_EXIT_EXTENDED): 0 ok; 2 cannot open a file; 3 the input file ends inside a
 * record; 4 invoke failed; 5 a write failed; 6 hard fault.
 *
 * Instruction counting: with -icount shift=0 QEMU advances virtual time by exactly 1 ns per
 * executed instruction; SysTick runs from the 25 MHz MPS2 system clock, so one tick is 40
 * instructions. calib.bin lets the host check that scale on every run.
 */
#include <stdint.h>

#include "model.h"

#include "pocketml_harness.h"


#ifdef POCKETML_PROFILE
#define MAX_LAYERS 1024u
static uint32_t layer_marks[MAX_LAYERS][2];
static uint32_t layer_count;

/* Called by model.c after each op (POCKETML_PROFILE_LAYER); costs a call and a SysTick read,
 * counted in the next layer. */
void pocketml_profile_layer(int32_t op) {
  if (layer_count < MAX_LAYERS) {
    layer_marks[layer_count][0] = (uint32_t)op;
    layer_marks[layer_count][1] = ticks_elapsed();
    layer_count++;
  }
}
#endif

int main(void) {
  static int8_t input[@P@_INPUT_BYTES];
  static int8_t output[@P@_OUTPUT_BYTES];
  const int32_t in = open_file("inputs.bin", 10, 1 /* rb */);
  const int32_t out = open_file("outputs.bin", 11, 5 /* wb */);
  const int32_t stats = open_file("stats.bin", 9, 5);
  const int32_t calib = open_file("calib.bin", 9, 5);
  if (in < 0 || out < 0 || stats < 0 || calib < 0) {
    finish(2);
  }
#ifdef POCKETML_PROFILE
  const int32_t layers = open_file("layers.bin", 10, 5);
  if (layers < 0) {
    finish(2);
  }
#endif
  calibrate(calib);

  for (;;) {
    const uint32_t got = transfer(0x06 /* SYS_READ */, in, input, sizeof input);
    if (got == 0u) {
      break;
    }
    if (got != sizeof input) {
      finish(3);
    }
    /* Paint the unused stack so the invoke's deepest use can be read back afterwards. */
    const uint32_t sp = stack_pointer();
    for (volatile uint32_t *w = &_stack_limit; (uint32_t)w < sp - 64u; ++w) {
      *w = PAINT;
    }
    uint32_t record[2];
#ifdef POCKETML_PROFILE
    layer_count = 0u;
#endif
    ticks_start();
    const int status = @p@_invoke((const void *)input, (void *)output); /* int8 or uint8 edges */
    record[0] = ticks_elapsed();
    if (status != 0) {
      finish(4);
    }
    const uint32_t *w = &_stack_limit;
    while (*w == PAINT && (uint32_t)w < sp) {
      ++w;
    }
    record[1] = sp - (uint32_t)w;
    write_all(out, output, sizeof output);
    write_all(stats, record, sizeof record);
#ifdef POCKETML_PROFILE
    write_all(layers, layer_marks, layer_count * sizeof layer_marks[0]);
#endif
  }
  finish(0);
  return 0;
}
