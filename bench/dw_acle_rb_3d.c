/*
 * Baseline 3 (row-sweep ACLE, see dw_sweep.h): 3-D 3x3x3 stride-1 depthwise conv (ndhwc),
 * vector-length agnostic, in two passes per channel step.
 *
 * - Pass A holds the 18 taps of kd = 0 and 1 in registers and sweeps input planes od and
 *   od + 1 together, a block of HB_A output rows at a time, along W: at each input column the
 *   2 (HB_A + 2) input vectors are loaded one at a time, each feeding every tap of every block
 *   row that uses it, and give output column w - 2 its last taps (then it is stored), w - 1
 *   its middle taps and w its first. Each output gets 18 FMAs per store. Three accumulator
 *   sets rotate (HB_A = 2: 18 taps + 6 accumulators + an input vector or two).
 * - Pass B holds the 9 taps of kd = 2 and runs the 3x3 row sweep of dw_sweep_s1.h on input
 *   plane od + 2, adding into the output (one more load per output).
 * - Rows per block, measured (docs/performance.md): DW_RB_HB_A = 2 in pass A (1 and 3 run
 *   more instructions), DW_RB_HB_B as in dw_acle_rb_s1.c (at most 6, balanced) in pass B.
 */
#include "dw_sweep_s1.h"

#if DW_KD != 3 || DW_SD != 1
#error "dw_acle_rb_3d.c is for 3x3x3 stride-1 filters"
#endif
#ifndef DW_RB_HB_A
#define DW_RB_HB_A 2
#endif
#ifndef DW_RB_HB_B
#define DW_RB_HB_B ((DW_OH + (DW_OH + 5) / 6 - 1) / ((DW_OH + 5) / 6))
#endif

/* Input vector x of filter row kh (taps t: u for plane od, v for od + 1) for block row i. */
#define UPD(D, M, N, i, t, kh, first)                         \
  if (hb > (i)) {                                     \
    if (hD) MLA(D##i, x, t##kh##2);                   \
    if (hM) MLA(M##i, x, t##kh##1);                   \
    if (hN) {                                         \
      if (first)                                      \
        N##i = MUL(x, t##kh##0);                      \
      else                                            \
        MLA(N##i, x, t##kh##0);                       \
    }                                                 \
  }
/* Load input row r (pointer P##r) into x when the block has it, then run `body`. */
#define IN(P, r, body)                       \
  if (hb + 2 > (r)) {                        \
    const svfloat32_t x = LD(P##r + j);      \
    body                                     \
  }
/* One input column: rows 0..hb+1 of plane od (pointers p, taps u), then of plane od + 1
 * (pointers q, taps v); input row r feeds filter row r - i of block rows i = r - 2 .. r,
 * and block row i is finished (stored) after row i + 2 of plane od + 1. */
#define STEP_A(D, M, N, hasD, hasM, hasN)                                                   \
  do {                                                                                    \
    const int hD = (hasD), hM = (hasM), hN = (hasN);                                      \
    IN(p, 0, UPD(D, M, N, 0, u, 0, 1))                                                    \
    IN(p, 1, UPD(D, M, N, 0, u, 1, 0) UPD(D, M, N, 1, u, 0, 1))                           \
    IN(p, 2, UPD(D, M, N, 0, u, 2, 0) UPD(D, M, N, 1, u, 1, 0) UPD(D, M, N, 2, u, 0, 1))  \
    IN(p, 3, UPD(D, M, N, 1, u, 2, 0) UPD(D, M, N, 2, u, 1, 0))                           \
    IN(p, 4, UPD(D, M, N, 2, u, 2, 0))                                                    \
    IN(q, 0, UPD(D, M, N, 0, v, 0, 0))                                                    \
    IN(q, 1, UPD(D, M, N, 0, v, 1, 0) UPD(D, M, N, 1, v, 0, 0))                           \
    IN(q, 2, UPD(D, M, N, 0, v, 2, 0) UPD(D, M, N, 1, v, 1, 0) UPD(D, M, N, 2, v, 0, 0))  \
    if (hD) ST(o0 + j, D##0);                                                             \
    IN(q, 3, UPD(D, M, N, 1, v, 2, 0) UPD(D, M, N, 2, v, 1, 0))                           \
    if (hD && hb > 1) ST(o1 + j, D##1);                                                   \
    IN(q, 4, UPD(D, M, N, 2, v, 2, 0))                                                    \
    if (hD && hb > 2) ST(o2 + j, D##2);                                                   \
  } while (0)

/* Pass A for hb output rows from (od, oh): input rows from `in` (plane od, row oh). */
AI void block_a(svbool_t pg, TAPS9(u), TAPS9(v), const int hb, const float *in, float *out) {
  OPAQUE_PTRUE;
  const float *p0 = in + 2 * DW_C, *p1 = p0 + ROWC, *p2 = p1 + ROWC, *p3 = p2 + ROWC;
  const float *p4 = p3 + ROWC, *q0 = p0 + PLANEC, *q1 = q0 + ROWC, *q2 = q1 + ROWC;
  const float *q3 = q2 + ROWC, *q4 = q3 + ROWC;
  float *o0 = out, *o1 = o0 + OROWC, *o2 = o1 + OROWC;
  SETS;
  SWEEP3(STEP_A)
}

AI void channel_step(svbool_t pg, int c, const float *input, const float *filter, float *output) {
  for (int n = 0; n < DW_N; ++n) {
    const float *in = input + DW_IN_AT(n, 0, 0, 0) + c;
    float *out = output + DW_OUT_AT(n, 0, 0, 0) + c;
    {
      LOAD9(u, filter + DW_FLT_AT(0, 0, 0) + c);
      LOAD9(v, filter + DW_FLT_AT(1, 0, 0) + c);
      for (int od = 0; od < DW_OD; ++od) {
        const float *plane = in + od * PLANEC;
        float *oplane = out + DW_OUT_AT(0, od, 0, 0);
#define ROWS_A(hb, oh) block_a(pg, T9(u), T9(v), hb, plane + (oh) * ROWC, oplane + (oh) * OROWC)
        ROW_BLOCKS(DW_RB_HB_A, ROWS_A);
      }
    }
    LOAD9(w, filter + DW_FLT_AT(2, 0, 0) + c);
    for (int od = 0; od < DW_OD; ++od) {
      const float *plane = in + (od + 2) * PLANEC;
      float *oplane = out + DW_OUT_AT(0, od, 0, 0);
#define ROWS_B(hb, oh) block(pg, T9(w), hb, 1, plane + (oh) * ROWC, oplane + (oh) * OROWC)
      ROW_BLOCKS(DW_RB_HB_B, ROWS_B);
    }
  }
}

DW_ENTRY(channel_step)
