/*
 * Baseline 3 (row-sweep ACLE, see dw_sweep.h): 2-D 3x3 stride-2 depthwise conv (nhwc, D = 1),
 * vector-length agnostic.
 *
 * - A block of HB output rows (2 HB + 1 input rows) is swept along W, two input columns per
 *   output column. At the even column 2o the block's input vectors give output column o - 1
 *   its last taps (kw = 2; it is stored) and output column o its first (a multiply); at the odd
 *   column 2o + 1 they give column o its middle taps. Two accumulator sets rotate, so the
 *   sweep is unrolled by 2 output columns.
 *   Per output column: 2 (2 HB + 1) loads, 9 HB FMAs, HB stores.
 * - The 9 taps stay in registers for the whole channel step; 9 + 2 HB accumulators + the
 *   2 HB + 1 input vectors of a column fit the 32 vector registers for HB <= 4.
 * - HB (DW_RB_HB): the fewest blocks of at most 4 rows, balanced, chosen by measurement
 *   (docs/performance.md); rows left over form one smaller block.
 */
#include "dw_sweep.h"

#if DW_KD != 1 || DW_KH != 3 || DW_KW != 3 || DW_SH != 2 || DW_SW != 2 || DW_OW < 2
#error "dw_acle_rb_s2.c is for 2-D 3x3 stride-2 filters and at least 2 output columns"
#endif
#ifndef DW_RB_HB
#define DW_RB_HB ((DW_OH + (DW_OH + 3) / 4 - 1) / ((DW_OH + 3) / 4))
#endif
#if DW_RB_HB < 1 || DW_RB_HB > 4
#error "DW_RB_HB must be 1..4"
#endif

/* The block's input vectors at one column, rows through row pointers r (re: even columns,
 * ro: odd columns); rows beyond the block alias x0 and are not used. */
#define LOADS(r, j)                                                                       \
  const svfloat32_t x0 = LD(r##0 + (j)), x1 = LD(r##1 + (j)), x2 = LD(r##2 + (j));        \
  const svfloat32_t x3 = hb > 1 ? LD(r##3 + (j)) : x0, x4 = hb > 1 ? LD(r##4 + (j)) : x0; \
  const svfloat32_t x5 = hb > 2 ? LD(r##5 + (j)) : x0, x6 = hb > 2 ? LD(r##6 + (j)) : x0; \
  const svfloat32_t x7 = hb > 3 ? LD(r##7 + (j)) : x0, x8 = hb > 3 ? LD(r##8 + (j)) : x0

/* Block row i reads input rows xa, xb, xc. Even column: D's last taps (then D is stored at
 * output offset jo), N's first taps; odd column: N's middle taps. */
#define EROW(i, xa, xb, xc, d, n, hasD, hasN)                           \
  if (hb > (i)) {                                                     \
    if (hasD) {                                                       \
      MLA(d, xa, w02), MLA(d, xb, w12), MLA(d, xc, w22);              \
      ST(o##i + jo, d);                                               \
    }                                                                 \
    if (hasN) n = MUL(xa, w00), MLA(n, xb, w10), MLA(n, xc, w20);    \
  }
#define OROW(i, xa, xb, xc, n) \
  if (hb > (i)) MLA(n, xa, w01), MLA(n, xb, w11), MLA(n, xc, w21);

#define EVEN(D, N, hasD, hasN)                                 \
  do {                                                       \
    LOADS(re, ji);                                           \
    EROW(0, x0, x1, x2, D##0, N##0, hasD, hasN)              \
    EROW(1, x2, x3, x4, D##1, N##1, hasD, hasN)              \
    EROW(2, x4, x5, x6, D##2, N##2, hasD, hasN)              \
    EROW(3, x6, x7, x8, D##3, N##3, hasD, hasN)              \
  } while (0)
#define ODD(N)                    \
  do {                          \
    LOADS(ro, ji);              \
    OROW(0, x0, x1, x2, N##0)   \
    OROW(1, x2, x3, x4, N##1)   \
    OROW(2, x4, x5, x6, N##2)   \
    OROW(3, x6, x7, x8, N##3)   \
  } while (0)
/* Output column o: finish D (column o - 1, at offset jo), start and continue N (column o). */
#define FULL(D, N)          \
  EVEN(D, N, 1, 1);         \
  ODD(N);                   \
  NEXT(ji, 2 * DW_C);       \
  NEXT(jo, DW_C)

#define ROWS(r, k) const float *r##0 = (k), *r##1 = r##0 + ROWC, *r##2 = r##1 + ROWC, \
  *r##3 = r##2 + ROWC, *r##4 = r##3 + ROWC, *r##5 = r##4 + ROWC, *r##6 = r##5 + ROWC, \
  *r##7 = r##6 + ROWC, *r##8 = r##7 + ROWC

/* hb output rows starting at input row `in`, output row `out`, swept along W. */
AI void block(svbool_t pg, TAPS9(w), const int hb, const float *in, float *out) {
  OPAQUE_PTRUE;
  ROWS(re, in);
  ROWS(ro, in + DW_C);
  float *o0 = out, *o1 = o0 + OROWC, *o2 = o1 + OROWC, *o3 = o2 + OROWC;
  SETS;
  long ji = 0, jo = -DW_C; /* input column 2o; output column o - 1 */
  EVEN(b, a, 0, 1);
  ODD(a);
  NEXT(ji, 2 * DW_C);
  NEXT(jo, DW_C);
#pragma clang loop unroll(disable)
  for (int o = 1; o + 2 <= DW_OW; o += 2) {
    FULL(a, b);
    FULL(b, a);
  }
  if ((DW_OW - 1) % 2 == 0) {
    EVEN(a, a, 1, 0);
  } else {
    FULL(a, b);
    EVEN(b, b, 1, 0);
  }
}

AI void channel_step(svbool_t pg, int c, const float *input, const float *filter, float *output) {
  LOAD9(w, filter + c);
  for (int n = 0; n < DW_N; ++n) {
    const float *in = input + DW_IN_AT(n, 0, 0, 0) + c;
    float *out = output + DW_OUT_AT(n, 0, 0, 0) + c;
#define ROWS_S2(hb, oh) block(pg, T9(w), hb, in + 2 * (oh) * ROWC, out + (oh) * OROWC)
    ROW_BLOCKS(DW_RB_HB, ROWS_S2);
  }
}

DW_ENTRY(channel_step)
