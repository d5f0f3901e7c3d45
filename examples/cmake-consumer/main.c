/* A CMake consumer of dwmlir: runs the two kernels of kernels.toml (compiled at build time by
 * dwmlir_add_kernels) on deterministic data, checks each against a plain C reference, and
 * prints the SVE vector length it ran at. The buffer sizes come from the header's constants. */
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>

#include "consumer_dw.h"

#ifndef PR_SVE_GET_VL
#define PR_SVE_GET_VL 51
#endif

static uint32_t seed = 1u;
static float next_value(void) { /* quarter integers in [-2, 2]: products and sums are exact */
  seed = seed * 1664525u + 1013904223u;
  return (float)((int)((seed >> 9) % 17u) - 8) / 4.0f;
}

static void fill(float *buf, int n) {
  for (int i = 0; i < n; ++i) buf[i] = next_value();
}

static int report(const char *name, int bad, int total) {
  printf("%-10s %5d outputs: %s\n", name, total, bad ? "FAIL" : "ok");
  return bad != 0;
}

/* dw2d_s2: NHWC input, HWC filter, stride 2, padding 1 on each side. */
static int check_dw2d(void) {
  static float in[dw2d_s2_INPUT_SIZE], flt[dw2d_s2_FILTER_SIZE], out[dw2d_s2_OUTPUT_SIZE];
  enum { H = dw2d_s2_INPUT_H, W = dw2d_s2_INPUT_W, C = dw2d_s2_INPUT_C, KH = dw2d_s2_FILTER_H,
         KW = dw2d_s2_FILTER_W, OH = dw2d_s2_OUTPUT_H, OW = dw2d_s2_OUTPUT_W, S = 2, P = 1 };
  fill(in, dw2d_s2_INPUT_SIZE);
  fill(flt, dw2d_s2_FILTER_SIZE);
  dw2d_s2(in, flt, out);
  int bad = 0;
  for (int y = 0; y < OH; ++y)
    for (int x = 0; x < OW; ++x)
      for (int c = 0; c < C; ++c) {
        float want = 0.0f;
        for (int ky = 0; ky < KH; ++ky)
          for (int kx = 0; kx < KW; ++kx) {
            int iy = y * S + ky - P, ix = x * S + kx - P;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W)
              want += in[(iy * W + ix) * C + c] * flt[(ky * KW + kx) * C + c];
          }
        bad += out[(y * OW + x) * C + c] != want;
      }
  return report("dw2d_s2", bad, dw2d_s2_OUTPUT_SIZE);
}

/* dw1d_ncw: channels-first NCW input, CW filter, padding 2 on each side. */
static int check_dw1d(void) {
  static float in[dw1d_ncw_INPUT_SIZE], flt[dw1d_ncw_FILTER_SIZE], out[dw1d_ncw_OUTPUT_SIZE];
  enum { C = dw1d_ncw_INPUT_C, W = dw1d_ncw_INPUT_W, K = dw1d_ncw_FILTER_W, OW = dw1d_ncw_OUTPUT_W, P = 2 };
  fill(in, dw1d_ncw_INPUT_SIZE);
  fill(flt, dw1d_ncw_FILTER_SIZE);
  dw1d_ncw(in, flt, out);
  int bad = 0;
  for (int c = 0; c < C; ++c)
    for (int x = 0; x < OW; ++x) {
      float want = 0.0f;
      for (int k = 0; k < K; ++k) {
        int ix = x + k - P;
        if (ix >= 0 && ix < W) want += in[c * W + ix] * flt[c * K + k];
      }
      bad += out[c * OW + x] != want;
    }
  return report("dw1d_ncw", bad, dw1d_ncw_OUTPUT_SIZE);
}

int main(void) {
  if (!dw2d_s2_supported() || !dw1d_ncw_supported()) {
    fprintf(stderr, "this CPU cannot run the kernels (they need SVE)\n");
    return 2;
  }
  printf("SVE vector length: %d bits\n", (prctl(PR_SVE_GET_VL) & 0xffff) * 8);
  int failed = check_dw2d() + check_dw1d();
  printf("%d/2 kernels match the reference\n", 2 - failed);
  return failed != 0;
}
