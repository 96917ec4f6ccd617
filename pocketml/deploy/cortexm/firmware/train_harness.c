/* pocketml QEMU harness for the on-device training step (Cortex-M): the command protocol of
 * pocketml/deploy/c/train_host.py, read from a semihosted file, answered into another.
 *
 * Built by pocketml/deploy/cortexm/train.py with the emitted train.c, pocketml_train.c and the
 * kernels, for `qemu-system-arm -M mps2-an386 -semihosting -icount shift=0`. Not part of the
 * deployed model: its size is excluded from the flash / RAM figures.
 *
 *   inputs.bin   commands: 'I' + K float32 | 'T' + lr float32 + label int32 + input | 'P' + input | 'E'
 *   outputs.bin  answers: 'P' -> CLASSES float32 logits, 'E' -> K float32
 *   stats.bin    for every 'T' and 'P': 2 x uint32, SysTick ticks of the call and the stack it used
 *   calib.bin    as harness.c: ticks of a loop of known length, and of an empty window
 * Exit status: 0 ok; 2 cannot open a file or an unknown command; 3 a command cut short; 4 the model
 * refused a command; 5 a write failed; 6 hard fault.
 */
#include <stdint.h>

#include "train.h"

#include "pocketml_harness.h"


static int32_t in_file;

static void read_exact(void *buf, uint32_t len) {
  if (transfer(0x06 /* SYS_READ */, in_file, buf, len) != len) {
    finish(3);
  }
}

int main(void) {
  static int8_t input[@P@_TRAIN_INPUT_BYTES];
  static float values[@P@_TRAINABLE_FLOATS];
  static float logits[@P@_CLASSES];
  in_file = open_file("inputs.bin", 10, 1 /* rb */);
  const int32_t out = open_file("outputs.bin", 11, 5 /* wb */);
  const int32_t stats = open_file("stats.bin", 9, 5);
  const int32_t calib = open_file("calib.bin", 9, 5);
  if (in_file < 0 || out < 0 || stats < 0 || calib < 0) {
    finish(2);
  }
  calibrate(calib);

  for (;;) {
    uint8_t op;
    if (transfer(0x06 /* SYS_READ */, in_file, &op, 1u) != 1u) {
      break;
    }
    if (op == 'I') {
      read_exact(values, sizeof values);
      if (@p@_weights_import(values) != 0) {
        finish(4);
      }
      continue;
    }
    if (op == 'E') {
      if (@p@_weights_export(values) != 0) {
        finish(4);
      }
      write_all(out, values, sizeof values);
      continue;
    }
    float lr = 0.0f;
    int32_t label = 0;
    if (op == 'T') {
      read_exact(&lr, sizeof lr);
      read_exact(&label, sizeof label);
    } else if (op != 'P') {
      finish(2);
    }
    read_exact(input, sizeof input);
    /* Paint the unused stack so the call's deepest use can be read back afterwards. */
    const uint32_t sp = stack_pointer();
    for (volatile uint32_t *w = &_stack_limit; (uint32_t)w < sp - 64u; ++w) {
      *w = PAINT;
    }
    uint32_t record[2];
    ticks_start();
    const int status = op == 'T' ? @p@_train_step(input, (int)label, lr) : @p@_predict(input, logits);
    record[0] = ticks_elapsed();
    if (status < 0) {
      finish(4);
    }
    const uint32_t *w = &_stack_limit;
    while (*w == PAINT && (uint32_t)w < sp) {
      ++w;
    }
    record[1] = sp - (uint32_t)w;
    if (op == 'P') {
      write_all(out, logits, sizeof logits);
    }
    write_all(stats, record, sizeof record);
  }
  finish(0);
  return 0;
}
