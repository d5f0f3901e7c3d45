/* A C program that runs an imported model's two kernels one after the other, as a board
 * would: channels-last activations, the weights from NAME_weights.c, one NAME_apply call per
 * layer. Compares the last output with torch's (want.bin) and prints the worst error. */
#include <math.h>
#include <stdio.h>
#include "net.h"

static float x[net_0_INPUT_SIZE], y0[net_0_OUTPUT_SIZE], y5[net_5_OUTPUT_SIZE], want[net_5_OUTPUT_SIZE];

static int load(const char *path, float *buf, size_t n) {
  FILE *f = fopen(path, "rb");
  size_t got = f ? fread(buf, sizeof(float), n, f) : 0;
  if (f) fclose(f);
  return got == n;
}

int main(int argc, char **argv) {
  if (argc != 3 || !load(argv[1], x, net_0_INPUT_SIZE) || !load(argv[2], want, net_5_OUTPUT_SIZE)) {
    fprintf(stderr, "usage: chain x.bin want.bin\n");
    return 2;
  }
  if (!net_0_supported() || !net_5_supported()) return 3;
  net_0_apply(x, y0);  /* the layer-0 output is the layer-5 input: both channels-last */
  net_5_apply(y0, y5);
  float err = 0.0f, scale = 0.0f;
  for (int i = 0; i < net_5_OUTPUT_SIZE; i++) {
    err = fmaxf(err, fabsf(y5[i] - want[i]));
    scale = fmaxf(scale, fabsf(want[i]));
  }
  printf("net_5 output %dx%dx%dx%d: %s (max|err| %.1e of max %.1f)\n", net_5_OUTPUT_H, net_5_OUTPUT_W,
         net_5_OUTPUT_C, net_5_OUTPUT_M, err <= 1e-5f * scale ? "ok" : "MISMATCH", err, scale);
  return err <= 1e-5f * scale ? 0 : 1;
}
