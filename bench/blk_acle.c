/*
 * Baseline for `dwmlir bench --set blocks`: a hand-written SVE ACLE fused depthwise-separable
 * block, f32, channels-last, vector-length agnostic. One source serves MobileNetV2's inverted
 * residual (expand 1x1 + bias + act, 3x3 depthwise + bias + act, project 1x1 + bias,
 * residual), MobileNetV1's separable block (no expand) and a 1-D Conformer-style block (H = 1,
 * K = 31): every size and part is a compile-time macro (dwmlir.bench.blocks.block_macros).
 *
 * The C ABI is dwmlir's for the same block, with every bias present:
 *   BK_NAME(input, [expand_filter, expand_bias,] filter, bias, pw_filter, pw_bias, output)
 *
 * Per output row:
 * - The KH input rows the row reads live in a ring of zero-padded rows (static scratch,
 *   KH x WP x C floats). A row enters the ring once: the expand GEMM writes it (without
 *   expand, it is copied); its padding columns are never written and stay 0; a padding row
 *   is a shared row of zeros.
 * - The depthwise row: per channel vector, the taps and bias in registers, blocks of 4 output
 *   columns (3x3: 6 input columns per row at stride 1, 9 at stride 2) or 8 (1-D: groups of 4
 *   taps, 11 input vectors per 32 FMAs), bias and activation, into a row scratch
 *   (OW x C floats).
 * - The pointwise GEMM on that row, and the expand GEMM: a micro-kernel of up to 10 pixels x 2
 *   output vectors (20 x 1 when at most one vector of outputs is left; a row's pixels in
 *   balanced blocks), accumulators in registers across the reduction; 4 reduction steps per
 *   iteration: per pixel one 128-bit load of 4
 *   activations (svld1rq, ld1rqw) feeds 4 x 2 indexed FMAs (svmla_lane); then bias,
 *   activation, residual and the store.
 * - Accumulation is svmla_m on an opaque all-true predicate (see dw_sweep.h: tied, no movprfx).
 */
#include <arm_sve.h>

#if !defined(BK_NAME) || !defined(BK_W) || !defined(BK_C) || !defined(BK_KW) || !defined(BK_COUT)
#error "define BK_NAME, BK_H, BK_W, BK_CIN, BK_C, BK_KH, BK_KW, BK_S, BK_PT, BK_PL, BK_OH, BK_OW, BK_COUT, ..."
#endif
#if BK_KH == 3 && BK_KW == 3
#define BK_2D 1
#elif BK_KH == 1
#define BK_2D 0
#else
#error "blk_acle.c is for 2-D 3x3 and 1-D filters"
#endif

#define AI static inline __attribute__((always_inline))
#define PT svptrue_b32()
#define OPAQUE_PTRUE svbool_t pm = svptrue_b32(); __asm__("" : "+Upa"(pm))
#define MLA(acc, x, w) ((acc) = svmla_m(pm, (acc), (x), (w)))
#define WP ((BK_OW - 1) * BK_S + BK_KW) /* padded columns a row of outputs reads */
#define BK_CIN_ (BK_CIN ? BK_CIN : BK_C)

enum { ACT_NONE, ACT_RELU, ACT_RELU6, ACT_SILU };

static float ring[BK_KH][WP * BK_C];
static float zrow[WP * BK_C];
static float dwrow[BK_OW * BK_C];

/* exp(x): x = n ln2 + r, |r| <= ln2/2, a degree-7 Taylor polynomial in r, times 2^n. */
AI svfloat32_t vexp(svfloat32_t x) {
  x = svmax_x(PT, svmin_x(PT, x, svdup_f32(88.0f)), svdup_f32(-87.0f));
  const svfloat32_t n = svrintn_x(PT, svmul_x(PT, x, svdup_f32(1.44269504f)));
  svfloat32_t r = svmls_x(PT, x, n, svdup_f32(0.693359375f));
  r = svmls_x(PT, r, n, svdup_f32(-2.12194440e-4f));
  svfloat32_t p = svdup_f32(1.0f / 5040);
  p = svmad_x(PT, p, r, svdup_f32(1.0f / 720));
  p = svmad_x(PT, p, r, svdup_f32(1.0f / 120));
  p = svmad_x(PT, p, r, svdup_f32(1.0f / 24));
  p = svmad_x(PT, p, r, svdup_f32(1.0f / 6));
  p = svmad_x(PT, p, r, svdup_f32(0.5f));
  p = svmad_x(PT, p, r, svdup_f32(1.0f));
  p = svmad_x(PT, p, r, svdup_f32(1.0f));
  return svscale_x(PT, p, svcvt_s32_x(PT, n));
}

AI svfloat32_t act(const int kind, svfloat32_t v) {
  if (kind == ACT_RELU) return svmax_x(PT, v, svdup_f32(0.0f));
  if (kind == ACT_RELU6) return svmin_x(PT, svmax_x(PT, v, svdup_f32(0.0f)), svdup_f32(6.0f));
  if (kind == ACT_SILU)
    return svdiv_x(PT, v, svadd_x(PT, vexp(svneg_x(PT, v)), svdup_f32(1.0f)));
  return v;
}

/* out[p][n..] = act(bias[n..] + sum_k a[p][k] * b[k][n..]) (+ res[p][n..]) for mr pixels and
 * nr vectors of outputs at n (predicates p0, p1): up to 10 pixels x 2 vectors (20 accumulators,
 * 8 weight vectors and a quad: 29 registers, no spill), or 20 x 1, whose pixel i + 10 takes
 * the accumulators c<i>1 that a second vector would. */
AI void gemm_tile(const int mr, const int nr, const float *a, const long lda, const int K,
                  const float *b, const long ldb, const float *bias, const int kind,
                  const float *res, const long ldr, float *o, const long ldo, svbool_t p0,
                  svbool_t p1) {
  OPAQUE_PTRUE;
  const long vl = (long)svcntw();
  const svfloat32_t z = svdup_f32(0.0f);
  /* The sums start from the bias (no add per output vector at the end); with one vector,
   * c<i>1 is pixel i + 10's, of the same bias. */
  const svfloat32_t b0 = svld1(p0, bias), b1 = nr > 1 ? svld1(p1, bias + vl) : b0;
  svfloat32_t c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1;
  svfloat32_t c40 = b0, c41 = b1, c50 = b0, c51 = b1, c60 = b0, c61 = b1, c70 = b0, c71 = b1;
  svfloat32_t c80 = b0, c81 = b1, c90 = b0, c91 = b1;
  int k = 0;
  /* Four reduction steps per iteration: the 4 x nr weight vectors, then per pixel one
   * 128-bit load of its 4 activations (ld1rqw) feeding 4 x nr indexed FMAs. */
#pragma clang loop unroll(disable)
  for (; k + 4 <= K; k += 4) {
    const float *bk = b + k * ldb;
    const svfloat32_t w00 = svld1(p0, bk), w10 = svld1(p0, bk + ldb), w20 = svld1(p0, bk + 2 * ldb),
                      w30 = svld1(p0, bk + 3 * ldb);
    const svfloat32_t w01 = nr > 1 ? svld1(p1, bk + vl) : z, w11 = nr > 1 ? svld1(p1, bk + ldb + vl) : z,
                      w21 = nr > 1 ? svld1(p1, bk + 2 * ldb + vl) : z,
                      w31 = nr > 1 ? svld1(p1, bk + 3 * ldb + vl) : z;
#define QUAD(acc, px, v)                                                                 \
  {                                                                                      \
    const svfloat32_t q = svld1rq(PT, a + (px) * lda + k);                               \
    acc = svmla_lane(acc, w0##v, q, 0), acc = svmla_lane(acc, w1##v, q, 1);              \
    acc = svmla_lane(acc, w2##v, q, 2), acc = svmla_lane(acc, w3##v, q, 3);              \
  }
#define ROWQ(i)                                                                          \
  if (mr > i) {                                                                          \
    const svfloat32_t q = svld1rq(PT, a + i * lda + k);                                  \
    c##i##0 = svmla_lane(c##i##0, w00, q, 0), c##i##0 = svmla_lane(c##i##0, w10, q, 1);  \
    c##i##0 = svmla_lane(c##i##0, w20, q, 2), c##i##0 = svmla_lane(c##i##0, w30, q, 3);  \
    if (nr > 1) {                                                                        \
      c##i##1 = svmla_lane(c##i##1, w01, q, 0), c##i##1 = svmla_lane(c##i##1, w11, q, 1);\
      c##i##1 = svmla_lane(c##i##1, w21, q, 2), c##i##1 = svmla_lane(c##i##1, w31, q, 3);\
    }                                                                                    \
  }                                                                                      \
  if (nr == 1 && mr > i + 10) QUAD(c##i##1, i + 10, 0)
    ROWQ(0) ROWQ(1) ROWQ(2) ROWQ(3) ROWQ(4) ROWQ(5) ROWQ(6) ROWQ(7) ROWQ(8) ROWQ(9)
#undef ROWQ
#undef QUAD
  }
  for (; k < K; ++k) {
    const svfloat32_t r0 = svld1(p0, b + k * ldb);
    const svfloat32_t r1 = nr > 1 ? svld1(p1, b + k * ldb + vl) : z;
#define ROW(i)                                                      \
  if (mr > i) {                                                     \
    const svfloat32_t x = svdup_f32(a[i * lda + k]);                \
    MLA(c##i##0, r0, x);                                            \
    if (nr > 1) MLA(c##i##1, r1, x);                                \
  }                                                                 \
  if (nr == 1 && mr > i + 10) MLA(c##i##1, r0, svdup_f32(a[(i + 10) * lda + k]));
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7) ROW(8) ROW(9)
#undef ROW
  }
#define STORE(acc, px, pg, off)                                                      \
  {                                                                                  \
    svfloat32_t v = act(kind, acc);                                                  \
    if (res) v = svadd_x(PT, v, svld1(pg, res + (px) * ldr + (off)));                \
    svst1(pg, o + (px) * ldo + (off), v);                                            \
  }
#define OUT(i)                                                                       \
  if (mr > i) {                                                                      \
    STORE(c##i##0, i, p0, 0)                                                         \
    if (nr > 1) STORE(c##i##1, i, p1, vl)                                            \
  }                                                                                  \
  if (nr == 1 && mr > i + 10) STORE(c##i##1, i + 10, p0, 0)
  OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7) OUT(8) OUT(9)
#undef OUT
#undef STORE
}

/* P pixels (a compile-time constant) in balanced blocks of at most cap: 14 pixels are 7 + 7,
 * 28 are 10 + 9 + 9; every block size is a constant after inlining. */
AI void gemm_blocks(const int P, const int cap, const int nr, const float *a, const long lda,
                    const int K, const float *b, const long ldb, const float *bias,
                    const int kind, const float *res, const long ldr, float *o, const long ldo,
                    svbool_t p0, svbool_t p1) {
  const int blocks = (P + cap - 1) / cap, narrow = P / blocks, wide = P % blocks;
  int p = 0;
#pragma clang loop unroll(disable)
  for (int j = 0; j < wide; ++j, p += narrow + 1)
    gemm_tile(narrow + 1, nr, a + p * lda, lda, K, b, ldb, bias, kind, res ? res + p * ldr : 0,
              ldr, o + p * ldo, ldo, p0, p1);
#pragma clang loop unroll(disable)
  for (int j = wide; j < blocks; ++j, p += narrow)
    gemm_tile(narrow, nr, a + p * lda, lda, K, b, ldb, bias, kind, res ? res + p * ldr : 0, ldr,
              o + p * ldo, ldo, p0, p1);
}

/* A row of P pixels: output vectors in pairs (blocks of up to 10 pixels), a single last one
 * alone (blocks of up to 20). */
AI void gemm_row(const int P, const float *a, const long lda, const int K, const int N,
                 const float *b, const float *bias, const int kind, const float *res,
                 const long ldr, float *o, const long ldo) {
  const int vl = (int)svcntw();
  int n = 0;
  for (; N - n > vl; n += 2 * vl)
    gemm_blocks(P, 10, 2, a, lda, K, b + n, N, bias + n, kind, res ? res + n : 0, ldr, o + n, ldo,
                svwhilelt_b32(n, N), svwhilelt_b32(n + vl, N));
  if (n < N)
    gemm_blocks(P, 20, 1, a, lda, K, b + n, N, bias + n, kind, res ? res + n : 0, ldr, o + n, ldo,
                svwhilelt_b32(n, N), svpfalse());
}

/* Input row ih into ring slot ih % KH, at column offset PL (the padding columns stay 0). */
static void fill_row(int ih, const float *input, const float *ef, const float *eb) {
  float *dst = ring[ih % BK_KH] + (long)BK_PL * BK_C;
  const float *src = input + (long)ih * BK_W * BK_CIN_;
#if BK_CIN
  gemm_row(BK_W, src, BK_CIN, BK_CIN, BK_C, ef, eb, BK_EACT, 0, 0, dst, BK_C);
#else
  (void)ef, (void)eb;
  for (long i = 0; i < (long)BK_W * BK_C; i += svcntw()) {
    const svbool_t pg = svwhilelt_b32(i, (long)BK_W * BK_C);
    svst1(pg, dst + i, svld1(pg, src + i));
  }
#endif
}

/* Vector i of up to 11 named ones (SVE vectors cannot live in arrays); i is a constant
 * after inlining, so this is a register choice. */
AI svfloat32_t pick(const int i, svfloat32_t x0, svfloat32_t x1, svfloat32_t x2, svfloat32_t x3,
                    svfloat32_t x4, svfloat32_t x5, svfloat32_t x6, svfloat32_t x7,
                    svfloat32_t x8, svfloat32_t x9, svfloat32_t x10) {
  switch (i) {
    case 0: return x0;
    case 1: return x1;
    case 2: return x2;
    case 3: return x3;
    case 4: return x4;
    case 5: return x5;
    case 6: return x6;
    case 7: return x7;
    case 8: return x8;
    case 9: return x9;
    default: return x10;
  }
}
#define X11 x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10
#define LOADX(n, at)                                                                   \
  const svfloat32_t x0 = svld1(pg, at(0)), x1 = (n) > 1 ? svld1(pg, at(1)) : z,         \
                    x2 = (n) > 2 ? svld1(pg, at(2)) : z, x3 = (n) > 3 ? svld1(pg, at(3)) : z, \
                    x4 = (n) > 4 ? svld1(pg, at(4)) : z, x5 = (n) > 5 ? svld1(pg, at(5)) : z, \
                    x6 = (n) > 6 ? svld1(pg, at(6)) : z, x7 = (n) > 7 ? svld1(pg, at(7)) : z, \
                    x8 = (n) > 8 ? svld1(pg, at(8)) : z, x9 = (n) > 9 ? svld1(pg, at(9)) : z, \
                    x10 = (n) > 10 ? svld1(pg, at(10)) : z
#define ACC8 a0, a1, a2, a3, a4, a5, a6, a7
#define STORE(j)                                                              \
  if (nb > j) svst1(pg, out + (o + j) * BK_C, act(BK_DACT, svadd_x(PT, a##j, bias)));

#if BK_2D
#define W9 w00, w01, w02, w10, w11, w12, w20, w21, w22
/* nb (<= 4) output columns from column o of the padded rows r0..r2, channels at pg. */
AI void dw_cols(const int nb, svbool_t pg, const float *r0, const float *r1, const float *r2,
                const long o, svfloat32_t w00, svfloat32_t w01, svfloat32_t w02,
                svfloat32_t w10, svfloat32_t w11, svfloat32_t w12, svfloat32_t w20,
                svfloat32_t w21, svfloat32_t w22, svfloat32_t bias, float *out) {
  OPAQUE_PTRUE;
  const svfloat32_t z = svdup_f32(0.0f);
  svfloat32_t a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z;
  const long col = o * BK_S * BK_C;
#define TAPROW(r, kh)                                                             \
  do {                                                                            \
    const float *rr = (r) + col;                                                  \
    _Pragma("clang diagnostic push") _Pragma("clang diagnostic ignored \"-Wunused-variable\"") \
    LOADX((nb - 1) * BK_S + 3, AT);                                               \
    _Pragma("clang diagnostic pop")                                               \
    for (int kw = 0; kw < 3; ++kw) {                                              \
      const svfloat32_t t = pick(3 * (kh) + kw, W9, z, z);                        \
      MLA(a0, pick(kw, X11), t);                                                  \
      if (nb > 1) MLA(a1, pick(BK_S + kw, X11), t);                               \
      if (nb > 2) MLA(a2, pick(2 * BK_S + kw, X11), t);                           \
      if (nb > 3) MLA(a3, pick(3 * BK_S + kw, X11), t);                           \
    }                                                                             \
  } while (0)
#define AT(j) (rr + (j) * BK_C)
  TAPROW(r0, 0);
  TAPROW(r1, 1);
  TAPROW(r2, 2);
#undef AT
#undef TAPROW
  (void)a4, (void)a5, (void)a6, (void)a7;
  STORE(0) STORE(1) STORE(2) STORE(3)
}

/* Depthwise output row oh from the ring into dwrow. */
static void dw_row(int oh, const float *filter, const float *bias) {
  const float *rows[3];
  for (int kh = 0; kh < 3; ++kh) {
    const int ih = oh * BK_S - BK_PT + kh;
    rows[kh] = (ih < 0 || ih >= BK_H) ? zrow : ring[ih % 3];
  }
  const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
  const int vl = (int)svcntw();
  for (int c = 0; c < BK_C; c += vl) {
    const svbool_t pg = svwhilelt_b32(c, BK_C);
    const float *f = filter + c;
    const svfloat32_t w00 = svld1(pg, f), w01 = svld1(pg, f + BK_C), w02 = svld1(pg, f + 2 * BK_C),
                      w10 = svld1(pg, f + 3 * BK_C), w11 = svld1(pg, f + 4 * BK_C),
                      w12 = svld1(pg, f + 5 * BK_C), w20 = svld1(pg, f + 6 * BK_C),
                      w21 = svld1(pg, f + 7 * BK_C), w22 = svld1(pg, f + 8 * BK_C);
    const svfloat32_t b = svld1(pg, bias + c);
    long o = 0;
#pragma clang loop unroll(disable)
    for (; o + 4 <= BK_OW; o += 4) dw_cols(4, pg, r0 + c, r1 + c, r2 + c, o, W9, b, dwrow + c);
#pragma clang loop unroll(disable)
    for (; o < BK_OW; ++o) dw_cols(1, pg, r0 + c, r1 + c, r2 + c, o, W9, b, dwrow + c);
  }
}
#else
/* nb (<= 8) output columns from column o of the padded row r: taps in groups of 4, each
 * group's input vectors (nb + 3) loaded once. */
AI void dw_cols1d(const int nb, svbool_t pg, const float *r, const long o, const float *f,
                  svfloat32_t bias, float *out) {
  OPAQUE_PTRUE;
  const svfloat32_t z = svdup_f32(0.0f);
  svfloat32_t a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z;
#define GROUP(k, tg)                                                                        \
  do {                                                                                      \
    const float *rr = r + (o + (k)) * BK_C;                                                 \
    const svfloat32_t t0 = svld1(pg, f + (k) * BK_C),                                       \
                      t1 = (tg) > 1 ? svld1(pg, f + ((k) + 1) * BK_C) : z,                  \
                      t2 = (tg) > 2 ? svld1(pg, f + ((k) + 2) * BK_C) : z,                  \
                      t3 = (tg) > 3 ? svld1(pg, f + ((k) + 3) * BK_C) : z;                  \
    _Pragma("clang diagnostic push") _Pragma("clang diagnostic ignored \"-Wunused-variable\"") \
    LOADX(nb + (tg) - 1, AT);                                                               \
    _Pragma("clang diagnostic pop")                                                         \
    for (int t = 0; t < (tg); ++t) {                                                        \
      const svfloat32_t w = pick(t, t0, t1, t2, t3, z, z, z, z, z, z, z);                   \
      MLA(a0, pick(t, X11), w);                                                             \
      if (nb > 1) MLA(a1, pick(t + 1, X11), w);                                             \
      if (nb > 2) MLA(a2, pick(t + 2, X11), w);                                             \
      if (nb > 3) MLA(a3, pick(t + 3, X11), w);                                             \
      if (nb > 4) MLA(a4, pick(t + 4, X11), w);                                             \
      if (nb > 5) MLA(a5, pick(t + 5, X11), w);                                             \
      if (nb > 6) MLA(a6, pick(t + 6, X11), w);                                             \
      if (nb > 7) MLA(a7, pick(t + 7, X11), w);                                             \
    }                                                                                       \
  } while (0)
#define AT(j) (rr + (j) * BK_C)
  int k = 0;
#pragma clang loop unroll(disable)
  for (; k + 4 <= BK_KW; k += 4) GROUP(k, 4);
  if (BK_KW % 4) GROUP(k, BK_KW % 4);
#undef AT
#undef GROUP
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
}

static void dw_row(int oh, const float *filter, const float *bias) {
  (void)oh;
  const float *r = ring[0];
  const int vl = (int)svcntw();
  for (int c = 0; c < BK_C; c += vl) {
    const svbool_t pg = svwhilelt_b32(c, BK_C);
    const svfloat32_t b = svld1(pg, bias + c);
    long o = 0;
#pragma clang loop unroll(disable)
    for (; o + 8 <= BK_OW; o += 8) dw_cols1d(8, pg, r + c, o, filter + c, b, dwrow + c);
#pragma clang loop unroll(disable)
    for (; o < BK_OW; ++o) dw_cols1d(1, pg, r + c, o, filter + c, b, dwrow + c);
  }
}
#endif

void BK_NAME(const float *input,
#if BK_CIN
             const float *expand_filter, const float *expand_bias,
#endif
             const float *filter, const float *bias, const float *pw_filter, const float *pw_bias,
             float *output) {
#if !BK_CIN
  const float *expand_filter = 0, *expand_bias = 0;
#endif
  int next = 0; /* the next input row to enter the ring */
  for (int oh = 0; oh < BK_OH; ++oh) {
    const int last = oh * BK_S - BK_PT + BK_KH - 1 < BK_H - 1 ? oh * BK_S - BK_PT + BK_KH - 1 : BK_H - 1;
    for (; next <= last; ++next) fill_row(next, input, expand_filter, expand_bias);
    dw_row(oh, filter, bias);
    float *out = output + (long)oh * BK_OW * BK_COUT;
    const float *res = BK_RES ? input + (long)oh * BK_W * BK_CIN_ : 0;
    gemm_row(BK_OW, dwrow, BK_C, BK_C, BK_COUT, pw_filter, pw_bias, BK_PACT, res, BK_CIN_, out, BK_COUT);
  }
}
