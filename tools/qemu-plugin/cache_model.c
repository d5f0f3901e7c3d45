/*
 * cache_model: a QEMU TCG plugin that feeds every data access made by instructions inside
 * one or more address ranges through a two-level data cache model, and reports misses and
 * DRAM traffic.
 *
 *   qemu-aarch64 -plugin libcache_model.so,lo=0x400600,hi=0x400680 -d plugin -D log prog
 *
 * Arguments: lo=/hi= pairs, each a half-open range [lo, hi) of guest code addresses (hex with
 * 0x, or decimal); only accesses by instructions in a range are modelled, so the caches start
 * cold at the first one. Geometry (defaults: Neoverse V1): l1=BYTES (65536), l1_assoc=WAYS (4),
 * l2=BYTES (1048576), l2_assoc=WAYS (8), line=BYTES (64). At exit it prints one line:
 *
 *   cache insns=I accesses=A l1_misses=M1 l2_misses=M2 dram_read_bytes=R dram_write_bytes=W
 *
 * Model: both levels are set-associative with true LRU, write-back and write-allocate; L2 is
 * neither inclusive nor exclusive (an L1 miss fills both levels, a dirty L1 victim is written
 * into L2). A load that misses L2 reads its line from DRAM (a miss to DRAM). A store that misses
 * L2 allocates its line without reading it: the write-streaming behaviour of Arm cores for
 * streams of whole-line writes, which is what a kernel's output is. Dirty lines evicted from
 * L2, and every line still dirty at exit, are written to DRAM. Prefetches are not accesses.
 *
 * Why this needs QEMU >= 9: its user-mode TCG routes every access of SVE load/store helpers
 * (contiguous, first-fault, non-temporal, gathers, scatters) through the plugin memory
 * callbacks once a plugin asks for them, one callback per active element. QEMU 7.2 did not,
 * and an SVE kernel's vector traffic was invisible there. tools/build-qemu-cache.sh builds
 * such a QEMU; test/Integration/CacheModel checks this file against closed-form counts at
 * every vector length.
 *
 * Counts are exact and repeatable for single-threaded guests (the model is not locked).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_RANGES 64

typedef struct {
    uint64_t lo, hi;
} Range;

typedef struct {
    uint64_t *tag; /* line address + 1 per way; 0 = invalid */
    uint64_t *stamp; /* last use, for LRU */
    bool *dirty;
    unsigned sets, ways;
    uint64_t clock;
} Cache;

static Range ranges[MAX_RANGES];
static int n_ranges;
static unsigned line_shift = 6;
static Cache l1, l2;
static struct qemu_plugin_scoreboard *insn_board;
static uint64_t accesses, l1_misses, l2_misses, dram_reads, dram_writes;

static bool in_ranges(uint64_t pc)
{
    for (int i = 0; i < n_ranges; i++) {
        if (pc >= ranges[i].lo && pc < ranges[i].hi) {
            return true;
        }
    }
    return false;
}

static bool cache_init(Cache *c, uint64_t bytes, unsigned ways, unsigned line)
{
    if (ways == 0 || bytes % ((uint64_t)ways * line) != 0) {
        return false;
    }
    c->sets = (unsigned)(bytes / ((uint64_t)ways * line));
    c->ways = ways;
    size_t n = (size_t)c->sets * ways;
    c->tag = calloc(n, sizeof *c->tag);
    c->stamp = calloc(n, sizeof *c->stamp);
    c->dirty = calloc(n, sizeof *c->dirty);
    return c->sets > 0 && c->tag && c->stamp && c->dirty;
}

/*
 * Looks up ``line`` in ``c``; on a miss, fills it into the LRU way. Returns true on a hit.
 * A filled line's victim is reported through *victim (its line address) when it was dirty.
 */
static bool cache_touch(Cache *c, uint64_t line, bool make_dirty, bool *victim_dirty, uint64_t *victim)
{
    uint64_t *tag = c->tag + (size_t)(line % c->sets) * c->ways;
    uint64_t *stamp = c->stamp + (tag - c->tag);
    bool *dirty = c->dirty + (tag - c->tag);
    unsigned lru = 0;
    *victim_dirty = false;
    c->clock++;
    for (unsigned w = 0; w < c->ways; w++) {
        if (tag[w] == line + 1) {
            stamp[w] = c->clock;
            dirty[w] |= make_dirty;
            return true;
        }
        if (stamp[w] < stamp[lru]) {
            lru = w;
        }
    }
    if (tag[lru] != 0 && dirty[lru]) {
        *victim_dirty = true;
        *victim = tag[lru] - 1;
    }
    tag[lru] = line + 1;
    stamp[lru] = c->clock;
    dirty[lru] = make_dirty;
    return false;
}

/* A write into L2 (a dirty L1 victim, or a store that missed L1). */
static void l2_write(uint64_t line)
{
    bool victim_dirty;
    uint64_t victim;
    cache_touch(&l2, line, true, &victim_dirty, &victim);
    if (victim_dirty) {
        dram_writes++;
    }
}

static void access_line(uint64_t line, bool store)
{
    bool victim_dirty;
    uint64_t victim;
    if (cache_touch(&l1, line, store, &victim_dirty, &victim)) {
        return;
    }
    l1_misses++;
    if (victim_dirty) {
        l2_write(victim);
    }
    bool l2_victim_dirty;
    uint64_t l2_victim;
    /* The L2 copy stays clean on a store: the dirty data lives in L1 until it is evicted. */
    if (!cache_touch(&l2, line, false, &l2_victim_dirty, &l2_victim)) {
        l2_misses++;
        if (!store) {
            dram_reads++;
        }
    }
    if (l2_victim_dirty) {
        dram_writes++;
    }
}

static void vcpu_mem(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
    (void)vcpu_index;
    (void)udata;
    uint64_t size = UINT64_C(1) << qemu_plugin_mem_size_shift(info);
    bool store = qemu_plugin_mem_is_store(info);
    accesses++;
    for (uint64_t line = vaddr >> line_shift; line <= (vaddr + size - 1) >> line_shift; line++) {
        access_line(line, store);
    }
}

static void vcpu_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (!in_ranges(qemu_plugin_insn_vaddr(insn))) {
            continue;
        }
        qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                             qemu_plugin_scoreboard_u64(insn_board), 1);
        qemu_plugin_register_vcpu_mem_cb(insn, vcpu_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, NULL);
    }
}

static void flush_dirty(void)
{
    for (size_t i = 0; i < (size_t)l1.sets * l1.ways; i++) {
        if (l1.tag[i] != 0 && l1.dirty[i]) {
            l2_write(l1.tag[i] - 1);
        }
    }
    for (size_t i = 0; i < (size_t)l2.sets * l2.ways; i++) {
        if (l2.tag[i] != 0 && l2.dirty[i]) {
            dram_writes++;
        }
    }
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
    (void)id;
    (void)p;
    flush_dirty();
    uint64_t line = UINT64_C(1) << line_shift;
    char buf[256];
    snprintf(buf, sizeof buf,
             "cache insns=%" PRIu64 " accesses=%" PRIu64 " l1_misses=%" PRIu64 " l2_misses=%" PRIu64
             " dram_read_bytes=%" PRIu64 " dram_write_bytes=%" PRIu64 "\n",
             qemu_plugin_u64_sum(qemu_plugin_scoreboard_u64(insn_board)), accesses, l1_misses, l2_misses, dram_reads * line, dram_writes * line);
    qemu_plugin_outs(buf);
}

static bool parse_u64(const char *text, uint64_t *out)
{
    char *end;
    if (!*text) {
        return false;
    }
    *out = strtoull(text, &end, 0);
    return *end == '\0';
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    uint64_t l1_bytes = 65536, l1_ways = 4, l2_bytes = 1048576, l2_ways = 8, line = 64;
    bool have_lo = false;
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        uint64_t v;
        if (!eq || !parse_u64(eq + 1, &v)) {
            fprintf(stderr, "cache_model: bad argument '%s' (want key=number)\n", argv[i]);
            return -1;
        }
        size_t klen = (size_t)(eq - argv[i]);
#define KEY(k) (klen == strlen(k) && strncmp(argv[i], k, klen) == 0)
        if (KEY("lo")) {
            if (have_lo || n_ranges == MAX_RANGES) {
                fprintf(stderr, "cache_model: lo= without hi=, or more than %d ranges\n", MAX_RANGES);
                return -1;
            }
            ranges[n_ranges].lo = v;
            have_lo = true;
        } else if (KEY("hi")) {
            if (!have_lo || v <= ranges[n_ranges].lo) {
                fprintf(stderr, "cache_model: hi= must follow lo= and lie above it\n");
                return -1;
            }
            ranges[n_ranges++].hi = v;
            have_lo = false;
        } else if (KEY("l1")) {
            l1_bytes = v;
        } else if (KEY("l1_assoc")) {
            l1_ways = v;
        } else if (KEY("l2")) {
            l2_bytes = v;
        } else if (KEY("l2_assoc")) {
            l2_ways = v;
        } else if (KEY("line")) {
            line = v;
        } else {
            fprintf(stderr, "cache_model: unknown argument '%s'\n", argv[i]);
            return -1;
        }
#undef KEY
    }
    if (have_lo) {
        fprintf(stderr, "cache_model: lo= without hi=\n");
        return -1;
    }
    if (line < 8 || (line & (line - 1)) != 0 || l1_ways > 64 || l2_ways > 64) {
        fprintf(stderr, "cache_model: line must be a power of two >= 8, ways <= 64\n");
        return -1;
    }
    line_shift = (unsigned)__builtin_ctzll(line);
    if (!cache_init(&l1, l1_bytes, (unsigned)l1_ways, (unsigned)line) ||
        !cache_init(&l2, l2_bytes, (unsigned)l2_ways, (unsigned)line)) {
        fprintf(stderr, "cache_model: each cache size must be a multiple of ways * line\n");
        return -1;
    }
    insn_board = qemu_plugin_scoreboard_new(sizeof(uint64_t));
    qemu_plugin_register_vcpu_tb_trans_cb(id, vcpu_tb_trans);
    qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
    return 0;
}
