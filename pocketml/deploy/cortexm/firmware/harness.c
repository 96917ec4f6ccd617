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
  SYST_RVR = RELOAD;
  SYST_CSR = 7u; /* enable, interrupt on wrap, processor clock */

  uint32_t cal[2];
  ticks_start();
  {
    register uint32_t n __asm__("r3") = CALIB_LOOPS;
    /* GCC wraps inline asm in ".syntax divided" for Armv6-M; this loop is written in unified syntax */
    __asm__ volatile(".syntax unified\n1: subs %0, %0, #1\n\tbne 1b\n\t.syntax divided" : "+r"(n) : : "cc");
  }
  cal[0] = ticks_elapsed();
  ticks_start();
  cal[1] = ticks_elapsed();
  write_all(calib, cal, sizeof cal);

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
