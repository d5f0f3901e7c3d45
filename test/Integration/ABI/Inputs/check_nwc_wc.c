/* An independent C harness for a dwmlir 1-D nwc_wc kernel: it includes the generated
 * header, fills operands from its own LCG, computes its own reference with plain loops and
 * compares. Configure with -DKERNEL=name -DHEADER='"name.h"' -DT=float|int32_t and
 * -DN -DW -DC -DK -DS -DD (batch, input width, channels, taps, stride, dilation). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include HEADER

#define WO ((W - D * (K - 1) - 1) / S + 1)
#define IS_FLOAT ((T)0.5 != (T)0)

static uint32_t state = 12345u;
static int next_small(void) { /* uniform in [-50, 50] */
  state = state * 1664525u + 1013904223u;
  return (int)((state >> 8) % 101u) - 50;
}

int main(void) {
  static T input[N * W * C], filter[K * C], output[N * WO * C];
  for (int i = 0; i < N * W * C; ++i) input[i] = IS_FLOAT ? (T)(next_small() / 8.0) : (T)next_small();
  for (int i = 0; i < K * C; ++i) filter[i] = (T)next_small();
  for (int i = 0; i < N * WO * C; ++i) output[i] = (T)99; /* must be overwritten */
  KERNEL(input, filter, output);
  int bad = 0;
  double max_err = 0.0;
  for (int n = 0; n < N; ++n)
    for (int w = 0; w < WO; ++w)
      for (int c = 0; c < C; ++c) {
        double want = 0.0;
        for (int k = 0; k < K; ++k)
          want += (double)input[(n * W + w * S + k * D) * C + c] * (double)filter[k * C + c];
        double got = (double)output[(n * WO + w) * C + c];
        double err = fabs(got - want);
        if (err > max_err) max_err = err;
        if (err > 1e-3 * (1.0 + fabs(want))) {
          if (bad++ < 5) printf("mismatch at n=%d w=%d c=%d: got %g want %g\n", n, w, c, got, want);
        }
      }
  printf("%s: %d outputs, %d mismatches, max error %g\n", bad ? "FAIL" : "PASS", N * WO * C, bad, max_err);
  return bad != 0;
}
