/*
 * The 3x3 stride-1 row sweep of dw_acle_rb_s1.c, shared with the second pass of
 * dw_acle_rb_3d.c (see dw_sweep.h).
 *
 * block(pg, T, hb, acc, in, out): hb output rows from input row `in` into output row `out`,
 * swept along W. At each input column the hb + 2 input vectors are loaded once and each feeds
 * every tap of every block row that uses it: output column w - 2 takes its last taps (kw = 2)
 * and is stored, w - 1 its middle taps, w its first taps. Three accumulator sets rotate, so
 * the sweep is unrolled by 3. Per input column: hb + 2 loads, 9 hb FMAs, hb stores. With acc
 * the first taps add to the output already there (one more load per output), else the first
 * tap is a multiply.
 */
#ifndef DW_SWEEP_S1_H
#define DW_SWEEP_S1_H

#include "dw_sweep.h"

#if DW_KH != 3 || DW_KW != 3 || DW_SH != 1 || DW_SW != 1 || DW_OW < 2
#error "the 3x3 row sweep is for 3x3 stride-1 filter planes and at least 2 output columns"
#endif

/* The block's input vectors at the column of offset j (rows beyond the block alias x0). */
#define LOADS(j)                                                                          \
  const svfloat32_t x0 = LD(r0 + (j)), x1 = LD(r1 + (j)), x2 = LD(r2 + (j));              \
  const svfloat32_t x3 = hb > 1 ? LD(r3 + (j)) : x0, x4 = hb > 2 ? LD(r4 + (j)) : x0;     \
  const svfloat32_t x5 = hb > 3 ? LD(r5 + (j)) : x0, x6 = hb > 4 ? LD(r6 + (j)) : x0;     \
  const svfloat32_t x7 = hb > 5 ? LD(r7 + (j)) : x0

/* Block row i, whose filter rows read input rows xa, xb, xc: last, middle, first taps. */
#define ROW(i, xa, xb, xc, d, m, n, j, hasD, hasM, hasN)                              \
  if (hb > (i)) {                                                                   \
    if (hasD) {                                                                     \
      MLA(d, xa, w02), MLA(d, xb, w12), MLA(d, xc, w22);                            \
      ST(o##i + (j), d);                                                            \
    }                                                                               \
    if (hasM) MLA(m, xa, w01), MLA(m, xb, w11), MLA(m, xc, w21);                   \
    if (hasN) {                                                                     \
      if (acc)                                                                      \
        n = LD(o##i + 2 * DW_C + (j)), MLA(n, xa, w00);                             \
      else                                                                          \
        n = MUL(xa, w00);                                                           \
      MLA(n, xb, w10), MLA(n, xc, w20);                                             \
    }                                                                               \
  }

/* One input column at offset j: D finishes its output column, M continues, N starts. */
#define STEP_S1(D, M, N, hasD, hasM, hasN)                                     \
  do {                                                                       \
    LOADS(j);                                                                \
    ROW(0, x0, x1, x2, D##0, M##0, N##0, j, hasD, hasM, hasN)                \
    ROW(1, x1, x2, x3, D##1, M##1, N##1, j, hasD, hasM, hasN)                \
    ROW(2, x2, x3, x4, D##2, M##2, N##2, j, hasD, hasM, hasN)                \
    ROW(3, x3, x4, x5, D##3, M##3, N##3, j, hasD, hasM, hasN)                \
    ROW(4, x4, x5, x6, D##4, M##4, N##4, j, hasD, hasM, hasN)                \
    ROW(5, x5, x6, x7, D##5, M##5, N##5, j, hasD, hasM, hasN)                \
  } while (0)

AI void block(svbool_t pg, TAPS9(w), const int hb, const int acc, const float *in, float *out) {
  OPAQUE_PTRUE;
  const float *r0 = in + 2 * DW_C, *r1 = r0 + ROWC, *r2 = r1 + ROWC, *r3 = r2 + ROWC;
  const float *r4 = r3 + ROWC, *r5 = r4 + ROWC, *r6 = r5 + ROWC, *r7 = r6 + ROWC;
  float *o0 = out, *o1 = o0 + OROWC, *o2 = o1 + OROWC, *o3 = o2 + OROWC, *o4 = o3 + OROWC;
  float *o5 = o4 + OROWC;
  SETS;
  SWEEP3(STEP_S1)
}

#endif
