/* MobileNetV2's feature extractor on an ARM board: its 17 inverted residual blocks, each one
 * fused dwmlir kernel of libmobilenet_v2.a (built by `dwmlir compile --config kernels.toml`),
 * run as a network: each block's output is the next block's input. Every block is checked
 * against a plain C reference computed in double from the same input: expand 1x1 + bias +
 * ReLU6 (not in block 0), depthwise 3x3 SAME + bias + ReLU6, linear project 1x1 + bias, plus
 * the block's input where the block is residual. Build for a board:
 *   aarch64-linux-gnu-gcc -O2 -static -Ibuild -I. main.c build/libmobilenet_v2.a -lm -o mnv2
 * It prints one line per block and exits non-zero if any output is off. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mobilenet_v2.h"

typedef void (*plain_fn)(const float *input, const float *filter, const float *bias, const float *pw_filter,
                         const float *pw_bias, float *output);
typedef void (*expand_fn)(const float *input, const float *expand_filter, const float *expand_bias,
                          const float *filter, const float *bias, const float *pw_filter, const float *pw_bias,
                          float *output);

struct block {
  const char *name;
  plain_fn plain;   /* block 0: no expand 1x1 conv (t = 1) */
  expand_fn expand; /* the others */
  int h, w, cin, c, cout, oh, ow; /* from the header's enum constants */
  int stride, residual;           /* from blocks.inc, as kernels.toml */
};

/* Shapes come from the generated header, so blocks.inc only names the kernels. */
#define DIMS(k) k##_INPUT_H, k##_INPUT_W, k##_INPUT_C, k##_FILTER_C, k##_OUTPUT_C, k##_OUTPUT_H, k##_OUTPUT_W
#define PLAIN_BLOCK(k, s, r) {#k, k, NULL, DIMS(k), s, r},
#define EXPAND_BLOCK(k, s, r) {#k, NULL, k, DIMS(k), s, r},
static const struct block blocks[] = {
#include "blocks.inc"
};
#undef PLAIN_BLOCK
#undef EXPAND_BLOCK

/* 1 if this CPU can run every kernel (SVE), from the header's NAME_supported(). */
static int all_supported(void) {
#define PLAIN_BLOCK(k, s, r) &&k##_supported()
#define EXPAND_BLOCK(k, s, r) &&k##_supported()
  return 1
#include "blocks.inc"
      ;
}

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

/* The table must describe a chain of MobileNetV2 blocks: each block takes the previous
 * block's output, SAME output sizes, a residual only at stride 1 with COUT = CIN. */
static int check_table(int n) {
  for (int i = 0; i < n; ++i) {
    const struct block *b = &blocks[i];
    const struct block *p = i ? &blocks[i - 1] : NULL;
    if ((p && (b->h != p->oh || b->w != p->ow || b->cin != p->cout)) || b->oh != out_size(b->h, b->stride) ||
        b->ow != out_size(b->w, b->stride) || (b->residual && (b->stride != 1 || b->cin != b->cout)) ||
        (b->plain && b->cin != b->c)) {
      fprintf(stderr, "mnv2: %s: blocks.inc does not match mobilenet_v2.h; regenerate both from kernels.toml\n",
              b->name);
      return 0;
    }
  }
  return 1;
}

/* Runs block b on x (h x w x cin); returns its output (oh x ow x cout), or NULL if it is off. */
static float *run_block(const struct block *b, const float *x) {
  size_t cin = (size_t)b->cin, c = (size_t)b->c, cout = (size_t)b->cout;
  size_t pixels_in = (size_t)b->h * b->w, pixels = (size_t)b->oh * b->ow;
  int ph = pad_lo(b->h, b->stride), pw = pad_lo(b->w, b->stride);
  float *ef = malloc(cin * c * sizeof *ef), *eb = malloc(c * sizeof *eb);
  float *flt = malloc(9 * c * sizeof *flt), *bias = malloc(c * sizeof *bias);
  float *pwf = malloc(c * cout * sizeof *pwf), *pwb = malloc(cout * sizeof *pwb);
  float *y = malloc(pixels * cout * sizeof *y);
  double *e = malloc(pixels_in * c * sizeof *e), *dw = malloc(c * sizeof *dw);
  if (!ef || !eb || !flt || !bias || !pwf || !pwb || !y || !e || !dw) exit(3);
  if (b->expand) {
    for (size_t i = 0; i < cin * c; ++i) ef[i] = uniform(-1.0f, 1.2f) * 1.7f / sqrtf((float)cin);
    for (size_t i = 0; i < c; ++i) eb[i] = uniform(-1.0f, 1.0f);
  }
  for (size_t i = 0; i < 9 * c; ++i) flt[i] = uniform(-0.3f, 0.4f);
  for (size_t i = 0; i < c; ++i) bias[i] = uniform(-0.5f, 0.5f);
  for (size_t i = 0; i < c * cout; ++i) pwf[i] = uniform(-1.0f, 1.0f) * 1.7f / sqrtf((float)c);
  for (size_t i = 0; i < cout; ++i) pwb[i] = uniform(-0.5f, 0.5f);
  if (b->expand)
    b->expand(x, ef, eb, flt, bias, pwf, pwb, y);
  else
    b->plain(x, flt, bias, pwf, pwb, y);

  for (size_t p = 0; p < pixels_in; ++p) /* the expand 1x1 conv, its bias and ReLU6 */
    for (size_t ch = 0; ch < c; ++ch) {
      if (!b->expand) {
        e[p * c + ch] = x[p * c + ch];
        continue;
      }
      double acc = eb[ch];
      for (size_t ci = 0; ci < cin; ++ci) acc += (double)x[p * cin + ci] * ef[ci * c + ch];
      e[p * c + ch] = relu6(acc);
    }
  size_t bad = 0;
  double worst = 0, sumsq = 0;
  for (int oy = 0; oy < b->oh; ++oy)
    for (int ox = 0; ox < b->ow; ++ox) {
      for (size_t ch = 0; ch < c; ++ch) { /* the depthwise conv (zero padding), its bias and ReLU6 */
        double acc = bias[ch];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            int iy = oy * b->stride + ky - ph, ix = ox * b->stride + kx - pw;
            if (iy >= 0 && iy < b->h && ix >= 0 && ix < b->w)
              acc += e[((size_t)iy * b->w + ix) * c + ch] * flt[(ky * 3 + kx) * c + ch];
          }
        dw[ch] = relu6(acc);
      }
      size_t at = (size_t)oy * b->ow + ox;
      for (size_t co = 0; co < cout; ++co) { /* the linear project 1x1 conv, its bias, the residual */
        double acc = pwb[co];
        for (size_t ch = 0; ch < c; ++ch) acc += dw[ch] * pwf[ch * cout + co];
        if (b->residual) acc += x[at * cin + co];
        double got = y[at * cout + co], err = fabs(got - acc);
        if (err > worst) worst = err;
        if (!(err <= 1e-4 * (1.0 + fabs(acc)))) ++bad; /* f32 sums of up to 960 terms of size ~1 */
        sumsq += acc * acc;
      }
    }
  printf("%-30s %3dx%3dx%3d", b->name, b->h, b->w, b->cin);
  if (b->expand)
    printf(" e%4zu", c);
  else
    printf("      ");
  printf(" s%d%s -> %3dx%3dx%3d: rms %.2f max|err| %.1e %s\n", b->stride, b->residual ? " +res" : "     ", b->oh,
         b->ow, b->cout, sqrt(sumsq / (double)(pixels * cout)), worst, bad ? "FAIL" : "ok");
  free(ef), free(eb), free(flt), free(bias), free(pwf), free(pwb), free(e), free(dw);
  if (bad) {
    free(y);
    return NULL;
  }
  return y;
}

int main(void) {
  int n = (int)(sizeof blocks / sizeof blocks[0]);
  if (!check_table(n)) return 2;
  if (!all_supported()) {
    fprintf(stderr, "mnv2: this CPU has no SVE; libmobilenet_v2.a needs it\n");
    return 1;
  }
  size_t in_n = (size_t)blocks[0].h * blocks[0].w * blocks[0].cin;
  float *x = malloc(in_n * sizeof *x);
  if (!x) return 3;
  for (size_t i = 0; i < in_n; ++i) x[i] = uniform(0.0f, 6.0f); /* the stem's output is ReLU6'd */
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
