/* Driver for cache_kernels.S: cache_main PATTERN N [ARGS...]. Buffers are 2 MiB aligned and
 * zeroed before the call, outside the modelled functions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ld1w_stream(float *, long);
void st1w_stream(float *, long);
void ldnt1w_stream(float *, long);
void ldff1w_stream(float *, long);
void gather_lines(float *, long);
void scatter_lines(float *, long);
void ld1rw_lines(float *, long);
void ldr_z_stream(void *, long);
void str_z_stream(void *, long);
void neon_stream(void *, long);
void scalar_cycle(void *, long, long, long);
void stride_vl(float *, long);
void rmw_stream(float *, const float *, long);

static void *buffer(size_t bytes) {
  const size_t align = (size_t)1 << 21;
  void *p = aligned_alloc(align, (bytes + align - 1) / align * align);
  if (!p) exit(3);
  memset(p, 0, bytes);
  return p;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PATTERN N [ARGS...]\n", argv[0]);
    return 2;
  }
  const char *p = argv[1];
  long n = atol(argv[2]);
  long a = argc > 3 ? atol(argv[3]) : 0, b = argc > 4 ? atol(argv[4]) : 0;
  if (!strcmp(p, "ld1w")) ld1w_stream(buffer(4 * n), n);
  else if (!strcmp(p, "ld1w_twice")) { float *f = buffer(4 * n); ld1w_stream(f, n); ld1w_stream(f, n); }
  else if (!strcmp(p, "st1w")) st1w_stream(buffer(4 * n), n);
  else if (!strcmp(p, "ldnt1w")) ldnt1w_stream(buffer(4 * n), n);
  else if (!strcmp(p, "ldff1w")) ldff1w_stream(buffer(4 * n), n);
  else if (!strcmp(p, "gather")) gather_lines(buffer(64 * n), n);
  else if (!strcmp(p, "scatter")) scatter_lines(buffer(64 * n), n);
  else if (!strcmp(p, "ld1rw")) ld1rw_lines(buffer(64 * n), n);
  else if (!strcmp(p, "ldr_z")) ldr_z_stream(buffer(n), n);
  else if (!strcmp(p, "str_z")) str_z_stream(buffer(n), n);
  else if (!strcmp(p, "neon")) neon_stream(buffer(n), n);
  else if (!strcmp(p, "scalar_cycle")) scalar_cycle(buffer(n * b), n, a, b);
  else if (!strcmp(p, "stride_vl")) stride_vl(buffer(4 * n), n);
  else if (!strcmp(p, "rmw")) { float *d = buffer(4 * n); rmw_stream(d, buffer(4 * n), n); }
  else { fprintf(stderr, "unknown pattern %s\n", p); return 2; }
  return 0;
}
