/*
 * insn_count: a QEMU TCG plugin that counts the guest instructions executed
 * inside one or more address ranges, and in total.
 *
 *   qemu-aarch64 -plugin libinsn_count.so,lo=0x400600,hi=0x400680 -d plugin -D log prog
 *
 * Arguments come in lo=/hi= pairs, each a half-open range [lo, hi) of guest
 * virtual addresses (hex with 0x, or decimal). Several pairs may be given; an
 * instruction counts once even if ranges overlap. At exit the plugin prints
 * one line (with no pairs, insns_in_range is 0):
 *
 *   insns_in_range=N insns_total=M
 *
 * With the argument profile=1 it also counts each instruction of the ranges on its own and
 * prints, before that line, one line per instruction that ran (dwmlir.bench.profile groups
 * them into basic blocks):
 *
 *   insn ADDR COUNT
 *
 * Only instructions inside a range get a per-instruction inline counter
 * increment, so code outside the ranges (libc, startup) pays one inline add per
 * translation block and nothing per instruction. Counts are exact for
 * single-threaded guests: the inline adds are plain (non-atomic) 64-bit adds
 * into one shared counter, so concurrent guest threads could lose increments.
 *
 * QEMU ships no installable qemu-plugin.h on Debian, so this file declares the
 * few pieces of the plugin C ABI it uses itself (API version 1, checked
 * against Debian 12's qemu-user 7.2). The functions are exported by the qemu-aarch64 executable and bound
 * when QEMU dlopen()s this library, hence no -l flag at link time.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Plugin ABI (QEMU_PLUGIN_VERSION 1) ------------------------------------------------------ */

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t; /* only passed through: no need for its layout */
struct qemu_plugin_tb;                  /* opaque; valid only inside the translation callback */
struct qemu_plugin_insn;                /* opaque; likewise */

/* The only inline operation API v1 has. Its value (0) is what QEMU reads. */
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };

/* QEMU's loader refuses a plugin without this symbol, or whose value is above its
 * QEMU_PLUGIN_VERSION (1 in 7.2, which also still accepts 0) or below its minimum.
 * Later QEMUs raised the minimum and reworked the inline API: this file targets 7.2. */
EXPORT int qemu_plugin_version = 1;

extern void qemu_plugin_register_vcpu_tb_trans_cb(
    qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb));
extern void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                                     void *ptr, uint64_t imm);
extern void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
                                                       enum qemu_plugin_op op, void *ptr, uint64_t imm);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
extern struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
extern uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t id, void *userdata),
                                           void *userdata);
extern void qemu_plugin_outs(const char *string);

/* ---- Counting -------------------------------------------------------------------------------- */

#define MAX_RANGES 16

static struct {
    uint64_t lo, hi;
    uint64_t *counts; /* profile=1: one counter per 4-byte instruction slot of [lo, hi) */
} ranges[MAX_RANGES];
static int n_ranges;
static bool profile;
/* Targets of the inline adds: QEMU's generated code adds into these addresses directly. */
static uint64_t in_range_count;
static uint64_t total_count;

/* The first range holding vaddr, or -1. */
static int range_of(uint64_t vaddr)
{
    for (int i = 0; i < n_ranges; i++)
        if (ranges[i].lo <= vaddr && vaddr < ranges[i].hi)
            return i;
    return -1;
}

/* Called once per translation block (not per execution): attach the inline adds. */
static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    /* Counts the whole block when it starts; a block left early by an exception would be
     * overcounted, which for the total (libc, syscalls) does not matter. */
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &total_count, n);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        int r = range_of(vaddr);
        if (r < 0)
            continue;
        /* Runs just before the instruction executes, so each executed one counts once. */
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                   &in_range_count, 1);
        if (profile)
            qemu_plugin_register_vcpu_insn_exec_inline(
                insn, QEMU_PLUGIN_INLINE_ADD_U64, &ranges[r].counts[(vaddr - ranges[r].lo) / 4], 1);
    }
}

static void on_guest_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    char line[96];
    for (int r = 0; profile && r < n_ranges; r++)
        for (uint64_t i = 0; i < (ranges[r].hi - ranges[r].lo + 3) / 4; i++)
            if (ranges[r].counts[i]) {
                snprintf(line, sizeof line, "insn 0x%" PRIx64 " %" PRIu64 "\n",
                         ranges[r].lo + 4 * i, ranges[r].counts[i]);
                qemu_plugin_outs(line);
            }
    snprintf(line, sizeof line, "insns_in_range=%" PRIu64 " insns_total=%" PRIu64 "\n",
             in_range_count, total_count);
    qemu_plugin_outs(line);
}

static bool parse_addr(const char *text, uint64_t *out)
{
    char *end;
    if (!*text)
        return false;
    *out = strtoull(text, &end, 0); /* base 0: 0x... is hex */
    return *end == '\0';
}

/* Returning non-zero makes QEMU report the plugin as failed to install and exit. */
EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    bool have_lo = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        uint64_t value;
        if (strcmp(arg, "profile=1") == 0) {
            profile = true;
        } else if (strncmp(arg, "lo=", 3) == 0 && !have_lo && parse_addr(arg + 3, &value)) {
            if (n_ranges == MAX_RANGES) {
                fprintf(stderr, "insn_count: more than %d ranges\n", MAX_RANGES);
                return -1;
            }
            ranges[n_ranges].lo = value;
            have_lo = true;
        } else if (strncmp(arg, "hi=", 3) == 0 && have_lo && parse_addr(arg + 3, &value)) {
            if (value < ranges[n_ranges].lo) {
                fprintf(stderr, "insn_count: hi=%s is below its lo\n", arg + 3);
                return -1;
            }
            ranges[n_ranges++].hi = value;
            have_lo = false;
        } else {
            fprintf(stderr, "insn_count: bad argument '%s' (expected lo=ADDR,hi=ADDR pairs, profile=1)\n", arg);
            return -1;
        }
    }
    if (have_lo) {
        fprintf(stderr, "insn_count: lo= without a following hi=\n");
        return -1;
    }
    for (int r = 0; profile && r < n_ranges; r++) {
        ranges[r].counts = calloc((ranges[r].hi - ranges[r].lo + 3) / 4 + 1, sizeof(uint64_t));
        if (!ranges[r].counts) {
            fprintf(stderr, "insn_count: out of memory for the profile\n");
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
    qemu_plugin_register_atexit_cb(id, on_guest_exit, NULL);
    return 0;
}
