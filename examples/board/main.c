/* A board-side program: runs every depthwise layer of libmobilenet_dw.a (built by
 * `dwmlir compile --config kernels.toml`) on deterministic data and checks each one against
 * a plain C reference. Build for an ARM board:
 *   aarch64-linux-gnu-gcc -O2 -static -Ibuild main.c build/libmobilenet_dw.a -lm -o dw_demo
 * It prints one line per layer and exits non-zero if any output differs. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mobilenet_dw.h"

typedef void (*kernel_fn)(const float *, const float *, float *);

struct layer {
  const char *name;
  kernel_fn fn;
  int h, w, c, stride;
};

static const struct layer layers[] = {
#include "layers.inc"
};

static uint32_t seed = 1u;
static float next_value(void) { /* quarter integers in [-2, 2]: exact products and sums */
  seed = seed * 1664525u + 1013904223u;
  return (float)((int)((seed >> 9) % 17u) - 8) / 4.0f;
}

/* SAME padding (TensorFlow): output ceil(in / stride), the odd extra row at the high end. */
static int out_size(int in, int stride) { return (in + stride - 1) / stride; }
static int pad_lo(int in, int stride) {
  int total = (out_size(in, stride) - 1) * stride + 3 - in;
  return total > 0 ? total / 2 : 0;
}

static int check(const struct layer *l) {
  int oh = out_size(l->h, l->stride), ow = out_size(l->w, l->stride);
  int ph = pad_lo(l->h, l->stride), pw = pad_lo(l->w, l->stride);
  size_t in_n = (size_t)l->h * l->w * l->c, out_n = (size_t)oh * ow * l->c;
  float *in = malloc(in_n * sizeof *in), *flt = malloc(9 * (size_t)l->c * sizeof *flt);
  float *out = malloc(out_n * sizeof *out);
  if (!in || !flt || !out) return 1;
  for (size_t i = 0; i < in_n; ++i) in[i] = next_value();
  for (size_t i = 0; i < 9 * (size_t)l->c; ++i) flt[i] = next_value();
  l->fn(in, flt, out);
  int bad = 0;
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x)
      for (int c = 0; c < l->c; ++c) {
        float want = 0.0f;
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            int iy = y * l->stride + ky - ph, ix = x * l->stride + kx - pw;
            if (iy >= 0 && iy < l->h && ix >= 0 && ix < l->w)
              want += in[((size_t)iy * l->w + ix) * l->c + c] * flt[(ky * 3 + kx) * l->c + c];
          }
        if (out[((size_t)y * ow + x) * l->c + c] != want) ++bad;
      }
  printf("%-24s %3dx%3dx%4d stride %d -> %3dx%3d: %s\n", l->name, l->h, l->w, l->c, l->stride, oh, ow,
         bad ? "FAIL" : "ok");
  free(in);
  free(flt);
  free(out);
  return bad != 0;
}

int main(void) {
  int failed = 0, n = (int)(sizeof layers / sizeof layers[0]);
  for (int i = 0; i < n; ++i) failed += check(&layers[i]);
  printf("%d/%d layers match the reference\n", n - failed, n);
  return failed != 0;
}
