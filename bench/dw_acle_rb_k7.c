/*
 * Baseline 3 (row-sweep ACLE, see dw_sweep.h): 1-D depthwise conv with 7 taps, stride 1
 * (nwc, D = H = 1), vector-length agnostic.
 *
 * - The row is swept along W with 7 rotating accumulators: input column w is loaded once and
 *   gives output column w - k its tap k for k = 0..6; output w - 6 is then finished and
 *   stored, output w starts (a multiply). Per output: 1 load, 7 FMAs, 1 store (the register-
 *   blocked dw_acle_k7.c loads 14 input vectors per 8 outputs).
 * - The rotation period is 7, so the sweep is unrolled by 7, with one base pointer per
 *   unrolled column and one offset add per 7 columns.
 * - The 7 taps stay in registers: 7 taps + 7 accumulators + the input vector.
 */
#include "dw_sweep.h"

#if DW_KD != 1 || DW_KH != 1 || DW_KW != 7 || DW_SW != 1 || DW_OW < 7
#error "dw_acle_rb_k7.c is for 1-D filters of 7 taps, stride 1, at least 7 output columns"
#endif

/* Tap k of the input vector x into accumulator a, when lo <= k <= hi. */
#define TAP(a, k, lo, hi)         \
  if ((k) >= (lo) && (k) <= (hi)) { \
    if ((k) == 0)                 \
      a = MUL(x, w0);             \
    else                          \
      MLA(a, x, w##k);            \
  }
/* One input column at xp; a0..a6 are the accumulators of taps 0..6 (outputs w .. w - 6),
 * taps lo..hi exist; output w - 6 (tap 6) is stored at op. */
#define STEP7_(a0, a1, a2, a3, a4, a5, a6, lo, hi, xp, op) \
  do {                                                   \
    const svfloat32_t x = LD(xp);                        \
    TAP(a6, 6, lo, hi)                                   \
    if ((hi) == 6) ST(op, a6);                           \
    TAP(a5, 5, lo, hi)                                   \
    TAP(a4, 4, lo, hi)                                   \
    TAP(a3, 3, lo, hi)                                   \
    TAP(a2, 2, lo, hi)                                   \
    TAP(a1, 1, lo, hi)                                   \
    TAP(a0, 0, lo, hi)                                   \
  } while (0)
#define STEP7(P, lo, hi, xp, op) STEP7_(P, lo, hi, xp, op)
/* Output column o lives in s(o mod 7): at input column w (w mod 7 = m) tap k goes to
 * s((m - k) mod 7). */
#define P0 s0, s6, s5, s4, s3, s2, s1
#define P1 s1, s0, s6, s5, s4, s3, s2
#define P2 s2, s1, s0, s6, s5, s4, s3
#define P3 s3, s2, s1, s0, s6, s5, s4
#define P4 s4, s3, s2, s1, s0, s6, s5
#define P5 s5, s4, s3, s2, s1, s0, s6
#define P6 s6, s5, s4, s3, s2, s1, s0

/* The input columns after the unrolled sweep: w = W1 + t, W1 = 6 (mod 7), R outputs left. */
#define W1 (6 + 7 * ((DW_OW - 6) / 7))
#define R (DW_OW - W1)
#define TAIL(t, m)                                                                              \
  if ((t) <= R + 5) STEP7(P##m, (t) - R + 1 > 0 ? (t) - R + 1 : 0, 6, in + (W1 + (t)) * DW_C,  \
                          out + (W1 + (t) - 6) * DW_C)

AI void row(svbool_t pg, const svfloat32_t w0, const svfloat32_t w1, const svfloat32_t w2,
            const svfloat32_t w3, const svfloat32_t w4, const svfloat32_t w5, const svfloat32_t w6,
            const float *in, float *out) {
  OPAQUE_PTRUE;
  const svfloat32_t z = svdup_f32(0.0f);
  svfloat32_t s0 = z, s1 = z, s2 = z, s3 = z, s4 = z, s5 = z, s6 = z;
  /* Input columns 0..5 start outputs 0..5. */
  STEP7(P0, 0, 0, in, out);
  STEP7(P1, 0, 1, in + DW_C, out);
  STEP7(P2, 0, 2, in + 2 * DW_C, out);
  STEP7(P3, 0, 3, in + 3 * DW_C, out);
  STEP7(P4, 0, 4, in + 4 * DW_C, out);
  STEP7(P5, 0, 5, in + 5 * DW_C, out);
  const float *r0 = in + 6 * DW_C, *r1 = r0 + DW_C, *r2 = r1 + DW_C, *r3 = r2 + DW_C;
  const float *r4 = r3 + DW_C, *r5 = r4 + DW_C, *r6 = r5 + DW_C;
  float *o0 = out, *o1 = o0 + DW_C, *o2 = o1 + DW_C, *o3 = o2 + DW_C, *o4 = o3 + DW_C;
  float *o5 = o4 + DW_C, *o6 = o5 + DW_C;
  long j = 0;
#pragma clang loop unroll(disable)
  for (int w = 6; w + 7 <= DW_OW; w += 7) {
    STEP7(P6, 0, 6, r0 + j, o0 + j);
    STEP7(P0, 0, 6, r1 + j, o1 + j);
    STEP7(P1, 0, 6, r2 + j, o2 + j);
    STEP7(P2, 0, 6, r3 + j, o3 + j);
    STEP7(P3, 0, 6, r4 + j, o4 + j);
    STEP7(P4, 0, 6, r5 + j, o5 + j);
    STEP7(P5, 0, 6, r6 + j, o6 + j);
    NEXT(j, 7 * DW_C);
  }
  TAIL(0, 6);
  TAIL(1, 0);
  TAIL(2, 1);
  TAIL(3, 2);
  TAIL(4, 3);
  TAIL(5, 4);
  TAIL(6, 5);
  TAIL(7, 6);
  TAIL(8, 0);
  TAIL(9, 1);
  TAIL(10, 2);
  TAIL(11, 3);
}

AI void channel_step(svbool_t pg, int c, const float *input, const float *filter, float *output) {
  const float *f = filter + c;
  const svfloat32_t w0 = LD(f), w1 = LD(f + DW_C), w2 = LD(f + 2 * DW_C), w3 = LD(f + 3 * DW_C);
  const svfloat32_t w4 = LD(f + 4 * DW_C), w5 = LD(f + 5 * DW_C), w6 = LD(f + 6 * DW_C);
  for (int n = 0; n < DW_N; ++n)
    row(pg, w0, w1, w2, w3, w4, w5, w6, input + DW_IN_AT(n, 0, 0, 0) + c, output + DW_OUT_AT(n, 0, 0, 0) + c);
}

DW_ENTRY(channel_step)
