/* What every pocketml QEMU harness for Cortex-M shares (firmware/harness.c, train_harness.c):
 * the vector table and reset handler, Arm semihosting file I/O (bkpt 0xAB), SysTick timing and
 * its calibration, and the stack paint. Included once by each harness (static definitions); not
 * part of any deployed model.
 *
 * Instruction counting: with -icount shift=0 QEMU advances virtual time by exactly 1 ns per
 * executed instruction; SysTick runs from the 25 MHz MPS2 system clock, so one tick is 40
 * instructions. calib.bin lets the host check that scale on every run.
 */
#ifndef POCKETML_HARNESS_H
#define POCKETML_HARNESS_H

#include <stdint.h>

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

/* Starts SysTick and writes calib.bin's record: ticks of a loop of 2 x CALIB_LOOPS instructions,
 * and of an empty measurement window. */
static void calibrate(int32_t calib) {
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

#endif /* POCKETML_HARNESS_H */
