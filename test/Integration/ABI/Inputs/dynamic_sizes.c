/* Calls a kernel with run-time sizes (dyn.h: nhwc 3x3, 32 channels, strides 2, padding
 * 1:1,0:2) at several sizes and checks each output against a plain C loop; a size that gives
 * no output must leave the output buffer untouched. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dyn.h"

static int check(int64_t n, int64_t h, int64_t w) {
  const int64_t c = dyn_INPUT_C, oh = (h - 1) / 2 + 1, ow = (w - 1) / 2 + 1;
  float *in = malloc(sizeof(float) * (n * h * w * c + 1)), *f = malloc(sizeof(float) * dyn_FILTER_SIZE);
  size_t out_n = (size_t)(n * oh * ow * c);
  float *out = malloc(sizeof(float) * (out_n + 16));
  for (int64_t i = 0; i < n * h * w * c; ++i) in[i] = (float)((i * 7) % 13) - 6.0f;
  for (int i = 0; i < dyn_FILTER_SIZE; ++i) f[i] = (float)((i * 5) % 11) / 4.0f;
  memset(out, 0x7f, sizeof(float) * (out_n + 16));
  dyn(in, f, out, n, h, w);
  for (size_t i = out_n; i < out_n + 16; ++i)
    if (memcmp(&out[i], "\x7f\x7f\x7f\x7f", 4)) return printf("wrote past the output\n"), 1;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t x = 0; x < ow; ++x)
        for (int64_t ch = 0; ch < c; ++ch) {
          float want = 0;
          for (int kh = 0; kh < 3; ++kh)
            for (int kw = 0; kw < 3; ++kw) {
              int64_t iy = y * 2 + kh - 1, ix = x * 2 + kw;
              if (iy >= 0 && iy < h && ix < w) want += in[((b * h + iy) * w + ix) * c + ch] * f[(kh * 3 + kw) * c + ch];
            }
          float got = out[((b * oh + y) * ow + x) * c + ch];
          if (fabsf(got - want) > 1e-4f * (1 + fabsf(want))) return printf("mismatch %f %f\n", got, want), 1;
        }
  printf("n=%lld h=%lld w=%lld: out %lldx%lld ok\n", (long long)n, (long long)h, (long long)w, (long long)oh,
         (long long)ow);
  return 0;
}

int main(void) {
  if (check(1, 1, 1) || check(2, 5, 9)) return 1;
  float out[4];
  memset(out, 0x7f, sizeof out);
  float in[4] = {0}, f[dyn_FILTER_SIZE] = {0};
  dyn(in, f, out, 1, 0, 9);
  for (int i = 0; i < 4; ++i)
    if (memcmp(&out[i], "\x7f\x7f\x7f\x7f", 4)) return printf("wrote with h=0\n"), 1;
  printf("n=1 h=0 w=9: returned, nothing written\n");
  return 0;
}
