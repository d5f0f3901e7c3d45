/* NAME_part's shares, one at a time on a poisoned output: each share writes only its own
 * elements (no element written by two shares), together they write every element, with the
 * values of one NAME call bit for bit, and invalid (part, parts) pairs write nothing.
 * Build with -DKERNEL=name '-DHEADER="name.h"' for a float kernel of input, filter, output
 * (and -DPW for a fused pointwise block's pw_filter after the filter). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define PART CAT(KERNEL, _part)
#define SIZE(buf) CAT(KERNEL, CAT(_, CAT(buf, _SIZE)))

#ifdef PW
#define FILTERS flt, pw
#else
#define FILTERS flt
#endif

static const unsigned char POISON = 0x7f;

static int written(const float *out, size_t i) {
  unsigned char bytes[sizeof(float)];
  memcpy(bytes, &out[i], sizeof bytes);
  for (size_t b = 0; b < sizeof bytes; ++b)
    if (bytes[b] != POISON) return 1;
  return 0;
}

int main(void) {
  const size_t n_in = SIZE(INPUT), n_flt = SIZE(FILTER), n_out = SIZE(OUTPUT);
  float *in = malloc(n_in * sizeof(float)), *flt = malloc(n_flt * sizeof(float));
#ifdef PW
  float *pw = malloc(SIZE(PW_FILTER) * sizeof(float));
  if (!pw) return 3;
  for (size_t i = 0; i < SIZE(PW_FILTER); ++i) pw[i] = (float)((int)(i * 31 % 13) - 6) / 4.0f;
#endif
  float *whole = malloc(n_out * sizeof(float)), *out = malloc(n_out * sizeof(float));
  int *owner = malloc(n_out * sizeof(int));
  if (!in || !flt || !whole || !out || !owner) return 3;
  for (size_t i = 0; i < n_in; ++i) in[i] = (float)((int)(i * 7919 % 23) - 11) / 8.0f;
  for (size_t i = 0; i < n_flt; ++i) flt[i] = (float)((int)(i * 104729 % 19) - 9) / 16.0f;
  KERNEL(in, FILTERS, whole);

  int bad = 0;
  const int counts[] = {1, 2, 3, 7};
  for (size_t c = 0; c < sizeof counts / sizeof counts[0]; ++c) {
    const int parts = counts[c];
    int busy = 0;
    for (size_t i = 0; i < n_out; ++i) owner[i] = -1;
    for (int p = 0; p < parts; ++p) {
      memset(out, POISON, n_out * sizeof(float));
      PART(in, FILTERS, out, p, parts);
      size_t mine = 0;
      for (size_t i = 0; i < n_out; ++i) {
        if (!written(out, i)) continue;
        ++mine;
        if (owner[i] >= 0) {
          if (bad++ < 5) printf("parts %d: element %zu written by shares %d and %d\n", parts, i, owner[i], p);
          continue;
        }
        owner[i] = p;
        if (memcmp(&out[i], &whole[i], sizeof(float)) != 0 && bad++ < 5)
          printf("parts %d: share %d, element %zu differs from one call\n", parts, p, i);
      }
      busy += mine > 0;
    }
    for (size_t i = 0; i < n_out; ++i)
      if (owner[i] < 0 && bad++ < 5) printf("parts %d: no share wrote element %zu\n", parts, i);
    printf("parts %d: %d shares with work\n", parts, busy);
  }
  const int invalid[][2] = {{-1, 2}, {2, 2}, {0, 0}, {0, -3}};
  for (size_t c = 0; c < sizeof invalid / sizeof invalid[0]; ++c) {
    memset(out, POISON, n_out * sizeof(float));
    PART(in, FILTERS, out, invalid[c][0], invalid[c][1]);
    for (size_t i = 0; i < n_out; ++i)
      if (written(out, i)) {
        if (bad++ < 5) printf("part %d of %d wrote element %zu\n", invalid[c][0], invalid[c][1], i);
        break;
      }
  }
  printf("%s: %zu outputs, %d problems\n", bad ? "FAIL" : "PASS", n_out, bad);
  return bad != 0;
}
