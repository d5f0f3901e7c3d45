/*
 * Baseline 2, hand-written SVE ACLE: 1-D depthwise conv with 7 taps (nwc, D = H = 1), any
 * stride, vector-length agnostic.
 *
 * - The channel dim is the vector dim, predicated only on the last, partial channel step
 *   (svwhilelt); full steps use an all-true predicate.
 * - The 7 taps are loaded once per channel step and stay in registers for the whole row.
 * - Eight output columns per iteration (then 4, then 1): each input vector is loaded once and
 *   feeds every output column that uses it (the compiler merges the repeated loads of the
 *   macros below), so a stride-1 block loads 14 input vectors for 56 FMAs.
 */
#include <arm_sve.h>

#include "dw_common.h"

#if DW_KW != 7 || DW_KH != 1 || DW_KD != 1
#error "dw_acle_k7.c is for 1-D filters of 7 taps"
#endif

#define AI static inline __attribute__((always_inline))
#define COLC (DW_SW * DW_C) /* input elements between two output columns */
/* SVE vectors cannot live in structs or arrays: the 7 taps travel as 7 parameters. */
#define TAPS                                                                                   \
  svfloat32_t w0, svfloat32_t w1, svfloat32_t w2, svfloat32_t w3, svfloat32_t w4, svfloat32_t w5, \
      svfloat32_t w6
#define T w0, w1, w2, w3, w4, w5, w6

#define LD(p) svld1(pg, (p))
#define MLA(acc, p, w) acc = svmla_x(pg, acc, LD(p), (w))
/* One output vector whose first tap reads input position p. */
#define COL(j, acc)                                                                        \
  const float *p##acc = in + (j) * COLC;                                                   \
  svfloat32_t acc = svmul_x(pg, LD(p##acc), w0);                                           \
  MLA(acc, p##acc + DW_C, w1), MLA(acc, p##acc + 2 * DW_C, w2), MLA(acc, p##acc + 3 * DW_C, w3), \
      MLA(acc, p##acc + 4 * DW_C, w4), MLA(acc, p##acc + 5 * DW_C, w5),                   \
      MLA(acc, p##acc + 6 * DW_C, w6)
#define ST(j, acc) svst1(pg, out + (j) * DW_C, acc)

AI void block8(svbool_t pg, TAPS, const float *in, float *out) {
  COL(0, a0); COL(1, a1); COL(2, a2); COL(3, a3); COL(4, a4); COL(5, a5); COL(6, a6); COL(7, a7);
  ST(0, a0), ST(1, a1), ST(2, a2), ST(3, a3), ST(4, a4), ST(5, a5), ST(6, a6), ST(7, a7);
}

AI void block4(svbool_t pg, TAPS, const float *in, float *out) {
  COL(0, a0); COL(1, a1); COL(2, a2); COL(3, a3);
  ST(0, a0), ST(1, a1), ST(2, a2), ST(3, a3);
}

AI void block1(svbool_t pg, TAPS, const float *in, float *out) {
  COL(0, a0);
  ST(0, a0);
}

/* Every output of channels [c, c + VL). */
AI void channel_step(svbool_t pg, int c, const float *input, const float *filter, float *output) {
  const float *f = filter + c;
  const svfloat32_t w0 = LD(f), w1 = LD(f + DW_C), w2 = LD(f + 2 * DW_C), w3 = LD(f + 3 * DW_C);
  const svfloat32_t w4 = LD(f + 4 * DW_C), w5 = LD(f + 5 * DW_C), w6 = LD(f + 6 * DW_C);
  for (int n = 0; n < DW_N; ++n) {
    const float *in = input + DW_IN_AT(n, 0, 0, 0) + c;
    float *out = output + DW_OUT_AT(n, 0, 0, 0) + c;
    int ow = 0;
    for (; ow + 8 <= DW_OW; ow += 8) block8(pg, T, in + ow * COLC, out + ow * DW_C);
    if (ow + 4 <= DW_OW) block4(pg, T, in + ow * COLC, out + ow * DW_C), ow += 4;
    for (; ow < DW_OW; ++ow) block1(pg, T, in + ow * COLC, out + ow * DW_C);
  }
}

void DW_NAME(const float *input, const float *filter, float *output) {
  const int vl = (int)svcntw();
  int c = 0;
  for (; c + vl <= DW_C; c += vl) channel_step(svptrue_b32(), c, input, filter, output);
  if (c < DW_C) channel_step(svwhilelt_b32(c, DW_C), c, input, filter, output);
}
