/*
 * Baseline 2, hand-written SVE ACLE: 2-D 3x3 (nhwc, D = 1) and 3-D 3x3x3 (ndhwc) depthwise
 * convs, any strides, vector-length agnostic.
 *
 * - The channel dim is the vector dim: one SVE vector of channels per step, predicated only
 *   on the last, partial step (svwhilelt); full steps use an all-true predicate.
 * - The 9 taps of one 3x3 filter plane are loaded once per channel step and stay in
 *   registers for every output pixel of that step.
 * - Eight output columns per iteration at stride 1, four at larger strides (then one at a
 *   time for the rest of a row): each input vector is loaded once and feeds every output
 *   column that uses it (the compiler merges the repeated loads of the macros below), so a
 *   stride-1 block of 8 loads 10 input vectors per filter row for 24 FMAs. The row loops are
 *   kept rolled: fully unrolled short rows (7 or 14 columns) ran out of address registers and
 *   spilled (measured: 8.5 instead of 6.0 instructions per output at 128 bits, 14x14 stride 2).
 * - 3-D: 27 taps plus accumulators do not fit the 32 vector registers, so the kernel holds
 *   one kd plane (9 taps) at a time; the first plane writes the output, the others add to it.
 */
#include <arm_sve.h>

#include "dw_common.h"

#if DW_KH != 3 || DW_KW != 3
#error "dw_acle_3x3.c is for 3x3 (2-D) and 3x3x3 (3-D) filters"
#endif

#define AI static inline __attribute__((always_inline))
#define ROWC (DW_IW * DW_C) /* input elements between two rows (h) */
#define COLC (DW_SW * DW_C) /* input elements between two output columns */

/* SVE vectors cannot live in structs or arrays: the 9 taps travel as 9 parameters. */
#define TAPS                                                                                     \
  svfloat32_t w00, svfloat32_t w01, svfloat32_t w02, svfloat32_t w10, svfloat32_t w11, svfloat32_t w12, \
      svfloat32_t w20, svfloat32_t w21, svfloat32_t w22
#define T w00, w01, w02, w10, w11, w12, w20, w21, w22

#define LD(p) svld1(pg, (p))
#define MLA(acc, p, w) acc = svmla_x(pg, acc, LD(p), (w))
/* The first plane starts from its first product (no zeroing); later planes from the output. */
#define OUT9(acc, p, o) \
  svfloat32_t acc = first ? svmul_x(pg, LD(p), w00) : svmla_x(pg, LD(o), LD(p), w00)
#define REST9(acc, p)                                                                     \
  MLA(acc, (p) + DW_C, w01), MLA(acc, (p) + 2 * DW_C, w02), MLA(acc, (p) + ROWC, w10), \
      MLA(acc, (p) + ROWC + DW_C, w11), MLA(acc, (p) + ROWC + 2 * DW_C, w12),            \
      MLA(acc, (p) + 2 * ROWC, w20), MLA(acc, (p) + 2 * ROWC + DW_C, w21),               \
      MLA(acc, (p) + 2 * ROWC + 2 * DW_C, w22)
#define COL(j, acc)                                  \
  OUT9(acc, in + (j) * COLC, out + (j) * DW_C);      \
  REST9(acc, in + (j) * COLC)
#define ST(j, acc) svst1(pg, out + (j) * DW_C, acc)

AI void block8(svbool_t pg, TAPS, const float *in, float *out, const int first) {
  COL(0, a0); COL(1, a1); COL(2, a2); COL(3, a3); COL(4, a4); COL(5, a5); COL(6, a6); COL(7, a7);
  ST(0, a0), ST(1, a1), ST(2, a2), ST(3, a3), ST(4, a4), ST(5, a5), ST(6, a6), ST(7, a7);
}

AI void block4(svbool_t pg, TAPS, const float *in, float *out, const int first) {
  COL(0, a0); COL(1, a1); COL(2, a2); COL(3, a3);
  ST(0, a0), ST(1, a1), ST(2, a2), ST(3, a3);
}

AI void block1(svbool_t pg, TAPS, const float *in, float *out, const int first) {
  COL(0, a0);
  ST(0, a0);
}

/* One output row (n, od, oh) of one channel step, for filter plane kd. */
AI void row(svbool_t pg, TAPS, const float *in, float *out, const int first) {
  int ow = 0;
  if (DW_SW == 1) {
#pragma clang loop unroll(disable)
    for (; ow + 8 <= DW_OW; ow += 8) block8(pg, T, in + ow * COLC, out + ow * DW_C, first);
  }
#pragma clang loop unroll(disable)
  for (; ow + 4 <= DW_OW; ow += 4) block4(pg, T, in + ow * COLC, out + ow * DW_C, first);
#pragma clang loop unroll(disable)
  for (; ow < DW_OW; ++ow) block1(pg, T, in + ow * COLC, out + ow * DW_C, first);
}

/* Every output of channels [c, c + VL) for filter plane kd. */
AI void plane(svbool_t pg, int c, int kd, const float *input, const float *filter, float *output) {
  const float *f = filter + DW_FLT_AT(kd, 0, 0) + c;
  const svfloat32_t w00 = LD(f), w01 = LD(f + DW_C), w02 = LD(f + 2 * DW_C);
  const svfloat32_t w10 = LD(f + 3 * DW_C), w11 = LD(f + 4 * DW_C), w12 = LD(f + 5 * DW_C);
  const svfloat32_t w20 = LD(f + 6 * DW_C), w21 = LD(f + 7 * DW_C), w22 = LD(f + 8 * DW_C);
  for (int n = 0; n < DW_N; ++n)
    for (int od = 0; od < DW_OD; ++od)
      for (int oh = 0; oh < DW_OH; ++oh) {
        const float *in = input + DW_IN_AT(n, od * DW_SD + kd, oh * DW_SH, 0) + c;
        float *out = output + DW_OUT_AT(n, od, oh, 0) + c;
        if (kd == 0)
          row(pg, T, in, out, 1);
        else
          row(pg, T, in, out, 0);
      }
}

AI void channel_step(svbool_t pg, int c, const float *input, const float *filter, float *output) {
  for (int kd = 0; kd < DW_KD; ++kd) plane(pg, c, kd, input, filter, output);
}

void DW_NAME(const float *input, const float *filter, float *output) {
  const int vl = (int)svcntw();
  int c = 0;
  for (; c + vl <= DW_C; c += vl) channel_step(svptrue_b32(), c, input, filter, output);
  if (c < DW_C) channel_step(svwhilelt_b32(c, DW_C), c, input, filter, output);
}
