/* A board-side program: runs every depthwise layer of libmobilenet_dw.a (built by
 * `dwmlir compile --config kernels.toml`) on deterministic data and checks each one against
 * a plain C reference, then runs it again from THREADS threads (each calling the layer's
 * NAME_part with its share) and checks that the output is the same. Build for an ARM board:
 *   aarch64-linux-gnu-gcc -O2 -static -pthread -Ibuild main.c build/libmobilenet_dw.a -lm -o dw_demo
 * It prints one line per layer and exits non-zero if any output differs. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mobilenet_dw.h"

#define THREADS 4

typedef void (*kernel_fn)(const float *, const float *, float *);
typedef void (*part_fn)(const float *, const float *, float *, int32_t, int32_t);

struct layer {
  const char *name;
  kernel_fn fn;
  part_fn part;
  int h, w, c, stride;
};

struct share {
  const struct layer *l;
  const float *in, *flt;
  float *out;
  int32_t part;
};

static void *run_share(void *arg) {
  const struct share *s = arg;
  s->l->part(s->in, s->flt, s->out, s->part, THREADS);
  return NULL;
}

/* The layer from THREADS threads: 0 if every thread ran and the output equals `want`. */
static int check_threads(const struct layer *l, const float *in, const float *flt, const float *want,
                         size_t out_n) {
  float *out = malloc(out_n * sizeof *out);
  pthread_t threads[THREADS];
  struct share shares[THREADS];
  if (!out) return 1;
  memset(out, 0xff, out_n * sizeof *out); /* NaNs: a share that writes nothing shows */
  int started = 0;
  for (int t = 0; t < THREADS; ++t) {
    shares[t] = (struct share){l, in, flt, out, t};
    started += pthread_create(&threads[t], NULL, run_share, &shares[t]) == 0;
  }
  for (int t = 0; t < started; ++t) pthread_join(threads[t], NULL);
  int bad = started != THREADS || memcmp(out, want, out_n * sizeof *out) != 0;
  free(out);
  return bad;
}

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
  int threads_bad = check_threads(l, in, flt, out, out_n);
  printf("%-24s %3dx%3dx%4d stride %d -> %3dx%3d: %s, %d threads: %s\n", l->name, l->h, l->w, l->c,
         l->stride, oh, ow, bad ? "FAIL" : "ok", THREADS, threads_bad ? "FAIL" : "ok");
  bad += threads_bad;
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
