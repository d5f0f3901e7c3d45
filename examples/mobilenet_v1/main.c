/* MobileNetV1's feature extractor on an ARM board: its 13 depthwise-separable blocks, each one
 * fused dwmlir kernel of libmobilenet_v1.a (built by `dwmlir compile --config kernels.toml`),
 * run as a network: each block's output is the next block's input. Every block is checked
 * against a plain C reference computed in double from the same input. Build for a board:
 *   aarch64-linux-gnu-gcc -O2 -static -Ibuild main.c build/libmobilenet_v1.a -lm -o mnv1
 * It prints one line per block and exits non-zero if any output is off. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobilenet_v1.h"

typedef void (*block_fn)(const float *input, const float *filter, const float *bias, const float *pw_filter,
                         const float *pw_bias, float *output);

struct block {
  const char *name;
  block_fn fn;
  int h, w, c, cout, stride;
};

static const struct block blocks[] = {
#include "blocks.inc"
};

static uint32_t seed = 1u;
static float uniform(float lo, float hi) { /* deterministic, in [lo, hi) */
  seed = seed * 1664525u + 1013904223u;
  return lo + (hi - lo) * (float)(seed >> 8) / 16777216.0f;
}

static double relu6(double x) { return x < 0 ? 0 : x > 6 ? 6 : x; }

/* SAME padding (TensorFlow): output ceil(in / stride), the odd extra row at the high end. */
static int out_size(int in, int stride) { return (in + stride - 1) / stride; }
static int pad_lo(int in, int stride) {
  int total = (out_size(in, stride) - 1) * stride + 3 - in;
  return total > 0 ? total / 2 : 0;
}

/* Runs block b on x (h x w x c); returns its output (oh x ow x cout), or NULL if it is off. */
static float *run_block(const struct block *b, const float *x) {
  int oh = out_size(b->h, b->stride), ow = out_size(b->w, b->stride);
  int ph = pad_lo(b->h, b->stride), pw = pad_lo(b->w, b->stride);
  size_t c = (size_t)b->c, cout = (size_t)b->cout, pixels = (size_t)oh * ow;
  float *flt = malloc(9 * c * sizeof *flt), *bias = malloc(c * sizeof *bias);
  float *pwf = malloc(c * cout * sizeof *pwf), *pwb = malloc(cout * sizeof *pwb);
  float *y = malloc(pixels * cout * sizeof *y);
  double *dw = malloc(c * sizeof *dw);
  if (!flt || !bias || !pwf || !pwb || !y || !dw) exit(3);
  for (size_t i = 0; i < 9 * c; ++i) flt[i] = uniform(-0.3f, 0.4f);
  for (size_t i = 0; i < c; ++i) bias[i] = uniform(-0.5f, 0.5f);
  for (size_t i = 0; i < c * cout; ++i) pwf[i] = uniform(-1.0f, 1.2f) / sqrtf((float)c);
  for (size_t i = 0; i < cout; ++i) pwb[i] = uniform(-0.5f, 0.5f);
  b->fn(x, flt, bias, pwf, pwb, y);
  size_t bad = 0;
  double worst = 0;
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox) {
      for (size_t ch = 0; ch < c; ++ch) { /* the depthwise layer, its bias and ReLU6 */
        double acc = bias[ch];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            int iy = oy * b->stride + ky - ph, ix = ox * b->stride + kx - pw;
            if (iy >= 0 && iy < b->h && ix >= 0 && ix < b->w)
              acc += (double)x[((size_t)iy * b->w + ix) * c + ch] * flt[(ky * 3 + kx) * c + ch];
          }
        dw[ch] = relu6(acc);
      }
      for (size_t co = 0; co < cout; ++co) { /* the pointwise conv, its bias and ReLU6 */
        double acc = pwb[co];
        for (size_t ch = 0; ch < c; ++ch) acc += dw[ch] * pwf[ch * cout + co];
        double want = relu6(acc), got = y[((size_t)oy * ow + ox) * cout + co];
        double err = fabs(got - want);
        if (err > worst) worst = err;
        if (!(err <= 1e-4 * (1.0 + fabs(want)))) ++bad; /* f32 sums of c terms of size ~1 */
      }
    }
  printf("%-28s %3dx%3dx%4d stride %d -> %3dx%3dx%4d: max|err| %.1e %s\n", b->name, b->h, b->w, b->c,
         b->stride, oh, ow, b->cout, worst, bad ? "FAIL" : "ok");
  free(flt), free(bias), free(pwf), free(pwb), free(dw);
  if (bad) {
    free(y);
    return NULL;
  }
  return y;
}

int main(void) {
  int n = (int)(sizeof blocks / sizeof blocks[0]);
  size_t in_n = (size_t)blocks[0].h * blocks[0].w * blocks[0].c;
  float *x = malloc(in_n * sizeof *x);
  if (!x) return 3;
  for (size_t i = 0; i < in_n; ++i) x[i] = uniform(0.0f, 2.0f);
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    float *y = run_block(&blocks[i], x);
    free(x);
    if (!y) break;
    x = y;
    ++ok;
  }
  if (ok == n) free(x);
  printf("%d/%d blocks match the reference\n", ok, n);
  return ok != n;
}
