/*
 * Baseline 3 (row-sweep ACLE, see dw_sweep.h): 2-D 3x3 stride-1 depthwise conv (nhwc, D = 1),
 * vector-length agnostic.
 *
 * - A block of HB output rows is swept along W. At each input column the HB + 2 input vectors
 *   of the block are loaded once; each feeds every tap of every block row that uses it.
 * - Output column w - 2 takes its last taps (kw = 2) and is stored, w - 1 its middle taps,
 *   w its first (a multiply): three accumulator sets rotate, so the sweep is unrolled by 3.
 *   Per input column: HB + 2 loads, 9 HB FMAs, HB stores (loads per output (HB + 2) / HB).
 * - The 9 taps stay in registers for the whole channel step: 9 + 3 HB accumulators + the
 *   input vectors fit the 32 vector registers for HB <= 6.
 * - HB (DW_RB_HB): the fewest blocks of at most 6 rows, balanced (7 rows: 4 + 3), chosen by
 *   measurement (docs/performance.md); rows left over form one smaller block.
 */
#include "dw_sweep_s1.h"

#if DW_KD != 1
#error "dw_acle_rb_s1.c is for 2-D filters"
#endif
#ifndef DW_RB_HB /* the fewest blocks of at most 6 rows, balanced */
#define DW_RB_HB ((DW_OH + (DW_OH + 5) / 6 - 1) / ((DW_OH + 5) / 6))
#endif
#if DW_RB_HB < 1 || DW_RB_HB > 6
#error "DW_RB_HB must be 1..6"
#endif

AI void channel_step(svbool_t pg, int c, const float *input, const float *filter, float *output) {
  LOAD9(w, filter + c);
  for (int n = 0; n < DW_N; ++n) {
    const float *in = input + DW_IN_AT(n, 0, 0, 0) + c;
    float *out = output + DW_OUT_AT(n, 0, 0, 0) + c;
#define ROWS_S1(hb, oh) block(pg, T9(w), hb, 0, in + (oh) * ROWC, out + (oh) * OROWC)
    ROW_BLOCKS(DW_RB_HB, ROWS_S1);
  }
}

DW_ENTRY(channel_step)
