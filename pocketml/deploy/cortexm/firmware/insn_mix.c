/* pocketml's QEMU TCG plugin: how often each instruction ran, split by layer, for a cycle estimate.
 *
 * Loaded by pocketml/deploy/cortexm/cycles.py into qemu-system-arm (7.2, plugin API version 1) as
 *   -plugin insn_mix.so,out=FILE,mark=ADDR,segments=N
 * It declares the few functions of QEMU's plugin API it calls itself (the C ABI qemu-system-arm
 * exports; qemu-plugin.h is not packaged by Debian). Every translated block records its
 * instructions' addresses; every execution of a block adds one to its count in the current
 * segment, and one to the "taken" count of the block that ran before it when this block does not
 * start where that one ended (its last instruction branched, or an exception came). A segment
 * ends each time the block at ADDR (pocketml_profile_layer, called after every op) runs.
 * At exit FILE gets, per block: "B vaddr n_insns" then its instruction addresses, then per
 * segment with any count "S segment count taken".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, void (*cb)(unsigned int, void *),
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *), void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

typedef struct block {
  uint64_t vaddr, end;
  uint32_t n;
  uint32_t *insns;      /* the instructions' addresses */
  uint64_t *count;      /* per segment */
  uint64_t *taken;      /* per segment: the block ended with a branch that was taken */
  struct block *next;   /* every block ever translated */
} block;

static block *blocks, *last;
static uint64_t mark;
static uint32_t segment, last_segment, segments = 1;
static char out_path[4096];

static void on_exec(unsigned int vcpu, void *userdata) {
  block *b = userdata;
  (void)vcpu;
  if (last != NULL && b->vaddr != last->end) {
    last->taken[last_segment]++;
  }
  b->count[segment]++;
  last = b;
  last_segment = segment;
  if (b->vaddr == mark && segment + 1 < segments) {
    segment++;
  }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  block *b = calloc(1, sizeof *b);
  (void)id;
  if (b == NULL) {
    abort();
  }
  b->n = (uint32_t)qemu_plugin_tb_n_insns(tb);
  b->vaddr = qemu_plugin_tb_vaddr(tb);
  b->insns = calloc(b->n ? b->n : 1, sizeof *b->insns);
  b->count = calloc(segments, sizeof *b->count);
  b->taken = calloc(segments, sizeof *b->taken);
  if (b->insns == NULL || b->count == NULL || b->taken == NULL) {
    abort();
  }
  b->end = b->vaddr;
  for (uint32_t i = 0; i < b->n; ++i) {
    const struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    b->insns[i] = (uint32_t)qemu_plugin_insn_vaddr(insn);
    b->end = qemu_plugin_insn_vaddr(insn) + qemu_plugin_insn_size(insn);
  }
  b->next = blocks;
  blocks = b;
  qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void write_counts(qemu_plugin_id_t id, void *userdata) {
  FILE *f = fopen(out_path, "w");
  (void)id, (void)userdata;
  if (f == NULL) {
    return;
  }
  for (block *b = blocks; b != NULL; b = b->next) {
    fprintf(f, "B %llx %u", (unsigned long long)b->vaddr, b->n);
    for (uint32_t i = 0; i < b->n; ++i) {
      fprintf(f, " %x", b->insns[i]);
    }
    fputc('\n', f);
    for (uint32_t s = 0; s < segments; ++s) {
      if (b->count[s] || b->taken[s]) {
        fprintf(f, "S %u %llu %llu\n", s, (unsigned long long)b->count[s], (unsigned long long)b->taken[s]);
      }
    }
  }
  fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info,
                                                               int argc, char **argv) {
  (void)info;
  for (int i = 0; i < argc; ++i) {
    if (strncmp(argv[i], "out=", 4) == 0) {
      snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
    } else if (strncmp(argv[i], "mark=", 5) == 0) {
      mark = strtoull(argv[i] + 5, NULL, 0);
    } else if (strncmp(argv[i], "segments=", 9) == 0) {
      segments = (uint32_t)strtoul(argv[i] + 9, NULL, 0);
    }
  }
  if (out_path[0] == '\0' || segments == 0) {
    return -1;
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, write_counts, NULL);
  return 0;
}
