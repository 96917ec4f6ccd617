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

#define CALIB_LOOPS 100000u /* the loop body below is 2 instructions: subs + bne */

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top, _stack_limit;
int main(void);
void pocketml_reset(void);
void pocketml_fault(void);
void pocketml_systick(void);

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&_stack_top), pocketml_reset, pocketml_fault, pocketml_fault,
    pocketml_fault, pocketml_fault, pocketml_fault, 0, 0, 0, 0, pocketml_fault, pocketml_fault,
    0, pocketml_fault, pocketml_systick};

static int32_t semihost(int32_t op, const void *arg) {
  register int32_t r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static void finish(uint32_t code) {
  const uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, code};
  semihost(0x20 /* SYS_EXIT_EXTENDED */, block);
  for (;;) {
  }
}

static int32_t open_file(const char *name, uint32_t len, uint32_t mode) {
  const uint32_t block[3] = {(uint32_t)name, mode, len};
  return semihost(0x01 /* SYS_OPEN */, block);
}

/* Returns the number of bytes transferred. */
static uint32_t transfer(int32_t op, int32_t handle, void *buf, uint32_t len) {
  const uint32_t block[3] = {(uint32_t)handle, (uint32_t)buf, len};
  return len - (uint32_t)semihost(op, block); /* semihosting returns the bytes NOT transferred */
}

static void write_all(int32_t handle, const void *buf, uint32_t len) {
  if (transfer(0x05 /* SYS_WRITE */, handle, (void *)buf, len) != len) {
    finish(5);
  }
}

void pocketml_fault(void) { finish(6); }

static volatile uint32_t systick_wraps;
void pocketml_systick(void) { systick_wraps++; }

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define CPACR (*(volatile uint32_t *)0xE000ED88u)
#define RELOAD 0x00FFFFFFu

static void ticks_start(void) {
  SYST_CVR = 0u; /* any write clears the counter; it reloads on the next tick */
  systick_wraps = 0u;
}

static uint32_t ticks_elapsed(void) {
  uint32_t wraps, value;
  do {
    wraps = systick_wraps;
    value = SYST_CVR;
  } while (wraps != systick_wraps);
  if (wraps == 0u && value == 0u) {
    return 0u; /* still the 0 written by ticks_start: no tick has elapsed */
  }
  return wraps * (RELOAD + 1u) + (RELOAD - value) + 1u;
}

static uint32_t stack_pointer(void) {
  uint32_t sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  return sp;
}

#define PAINT 0xA5A5A5A5u

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
  SYST_RVR = RELOAD;
  SYST_CSR = 7u; /* enable, interrupt on wrap, processor clock */

  uint32_t cal[2];
  ticks_start();
  {
    register uint32_t n __asm__("r3") = CALIB_LOOPS;
    __asm__ volatile(".syntax unified\n1: subs %0, %0, #1\n\tbne 1b\n\t.syntax divided" : "+r"(n) : : "cc");
  }
  cal[0] = ticks_elapsed();
  ticks_start();
  cal[1] = ticks_elapsed();
  write_all(calib, cal, sizeof cal);

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

void pocketml_reset(void) {
  CPACR |= 0xFu << 20; /* full access to CP10/CP11 (the FPU), harmless without one */
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) {
    *dst++ = *src++;
  }
  for (uint32_t *dst = &_sbss; dst < &_ebss;) {
    *dst++ = 0u;
  }
  main();
  finish(0);
}
