/*
 * Helpers shared by the row-sweep ACLE baselines (dw_acle_rb_*.c): kernels that sweep a block
 * of output rows along W with rotating accumulators, so every input vector is loaded once per
 * block and feeds every tap of every output that uses it.
 *
 * - The channel dim is the vector dim. Only memory operations are predicated by the channel
 *   predicate `pg` (all-true in full steps, svwhilelt in the last, partial one): loads zero the
 *   inactive lanes, so arithmetic can run on all lanes with the all-true PT and stays exact in
 *   the lanes that are stored.
 * - Accumulation is svmla_m on an all-true predicate hidden from LLVM (OPAQUE_PTRUE): the
 *   accumulator is the tied destination (fmla z_acc, p/m), so the register allocator keeps it
 *   in place and LLVM needs no movprfx. (svmla_x, or svmla_m on a predicate LLVM knows is all
 *   true, becomes an untied pseudo that LLVM may expand with a movprfx copy.) The first tap of
 *   an output is a multiply (unpredicated fmul on PT): no zero fill.
 * - SVE vectors cannot live in arrays: accumulator sets are named variables (a0.., b0.., c0..)
 *   and the sweep loops are unrolled by the rotation period so each set keeps its registers.
 */
#ifndef DW_SWEEP_H
#define DW_SWEEP_H

#include <arm_sve.h>

#include "dw_common.h"

#define AI static inline __attribute__((always_inline))
#define PT svptrue_b32()
#define LD(p) svld1(pg, (p))
#define ST(p, v) svst1(pg, (p), (v))
#define MUL(x, w) svmul_x(PT, (x), (w))
#define MLA(acc, x, w) ((acc) = svmla_m(pm, (acc), (x), (w)))
/* An all-true predicate LLVM cannot see through: with a known all-true predicate LLVM turns
 * svmla_m into its untied form (as svmla_x), and the register allocator then moves
 * accumulators between registers with movprfx copies. Declare it once per function. */
#define OPAQUE_PTRUE svbool_t pm = svptrue_b32(); __asm__("" : "+Upa"(pm))
/* Advance the element offset j of a sweep by one column, out of LLVM's sight: otherwise loop
 * strength reduction gives every (row, column) address of an unrolled sweep its own pointer,
 * more than there are general registers (measured: 57 register moves per iteration). With an
 * opaque j every access is [row pointer, j, lsl #2] and a column costs one add. */
#define NEXT(j, step)         \
  do {                        \
    (j) += (step);            \
    __asm__("" : "+r"(j));    \
  } while (0)
#define ROWC ((long)DW_IW * DW_C) /* input elements between two rows (h) */
#define PLANEC ((long)DW_IH * DW_IW * DW_C) /* input elements between two planes (d) */
#define OROWC ((long)DW_OW * DW_C) /* output elements between two rows */

/* The 9 taps of a 3x3 filter plane as parameters, arguments, and loaded from f. */
#define TAPS9(w)                                                                          \
  svfloat32_t w##00, svfloat32_t w##01, svfloat32_t w##02, svfloat32_t w##10, svfloat32_t w##11, \
      svfloat32_t w##12, svfloat32_t w##20, svfloat32_t w##21, svfloat32_t w##22
#define T9(w) w##00, w##01, w##02, w##10, w##11, w##12, w##20, w##21, w##22
#define LOAD9(w, f)                                                                             \
  const svfloat32_t w##00 = LD(f), w##01 = LD((f) + DW_C), w##02 = LD((f) + 2 * DW_C);          \
  const svfloat32_t w##10 = LD((f) + 3 * DW_C), w##11 = LD((f) + 4 * DW_C), w##12 = LD((f) + 5 * DW_C); \
  const svfloat32_t w##20 = LD((f) + 6 * DW_C), w##21 = LD((f) + 7 * DW_C), w##22 = LD((f) + 8 * DW_C)

/* Accumulator sets a, b, c of up to 6 rows each (unused ones are dead code). */
#define SET(s) __attribute__((unused)) svfloat32_t s##0 = z, s##1 = z, s##2 = z, s##3 = z, s##4 = z, s##5 = z
#define SETS svfloat32_t z = svdup_f32(0.0f); SET(a); SET(b); SET(c)

/* The sweep of a 3-wide stride-1 filter along W with three rotating accumulator sets.
 * STEP(D, M, N, hasD, hasM, hasN) handles one input column: D takes its last taps (kw = 2)
 * and is stored at offset j, M its middle taps, N its first. j is the element offset of D's
 * output column (from -2 C: the first two input columns finish nothing). */
#define SWEEP3(STEP)                                    \
  long j = -2 * DW_C;                                   \
  STEP(c, c, a, 0, 0, 1);                               \
  NEXT(j, DW_C);                                        \
  STEP(c, a, b, 0, 1, 1);                               \
  NEXT(j, DW_C);                                        \
  _Pragma("clang loop unroll(disable)")                 \
  for (int w = 2; w + 3 <= DW_OW; w += 3) {             \
    STEP(a, b, c, 1, 1, 1);                             \
    NEXT(j, DW_C);                                      \
    STEP(b, c, a, 1, 1, 1);                             \
    NEXT(j, DW_C);                                      \
    STEP(c, a, b, 1, 1, 1);                             \
    NEXT(j, DW_C);                                      \
  }                                                     \
  if ((DW_OW - 2) % 3 == 0) {                           \
    SWEEP3_END(STEP, a, b);                             \
  } else if ((DW_OW - 2) % 3 == 1) {                    \
    STEP(a, b, c, 1, 1, 1);                             \
    NEXT(j, DW_C);                                      \
    SWEEP3_END(STEP, b, c);                             \
  } else {                                              \
    STEP(a, b, c, 1, 1, 1);                             \
    NEXT(j, DW_C);                                      \
    STEP(b, c, a, 1, 1, 1);                             \
    NEXT(j, DW_C);                                      \
    SWEEP3_END(STEP, c, a);                             \
  }
/* The last two input columns start no output. */
#define SWEEP3_END(STEP, D, M) \
  STEP(D, M, D, 1, 1, 0);      \
  NEXT(j, DW_C);               \
  STEP(M, M, M, 1, 0, 0)

/* Rows [0, OH) in blocks of hb rows (the last block smaller), for block(hb, row). */
#define ROW_BLOCKS(hb, block)                                   \
  do {                                                          \
    int oh = 0;                                                 \
    _Pragma("clang loop unroll(disable)")                       \
    for (; oh + (hb) <= DW_OH; oh += (hb)) block(hb, oh);       \
    if (DW_OH % (hb)) block(DW_OH % (hb), oh);                  \
  } while (0)

/* The kernel entry: full channel steps, then one predicated tail step. */
#define DW_ENTRY(step)                                                                     \
  void DW_NAME(const float *input, const float *filter, float *output) {                 \
    const int vl = (int)svcntw();                                                        \
    int c = 0;                                                                           \
    for (; c + vl <= DW_C; c += vl) step(svptrue_b32(), c, input, filter, output);       \
    if (c < DW_C) step(svwhilelt_b32(c, DW_C), c, input, filter, output);                \
  }

#endif
