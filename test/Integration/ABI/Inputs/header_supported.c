/* Uses the header's size constants and NAME_supported() of two kernels (header-constants-supported.test). */
#include <stdio.h>
#include <stdlib.h>

#include "vla.h"
#include "vls.h"

int main(void) {
  printf("sizes %d %d %d %d %d\n", vla_INPUT_SIZE, vla_FILTER_M, vla_PW_FILTER_SIZE, vla_OUTPUT_C, vls_OUTPUT_W);
  printf("supported vla %d vls %d\n", vla_supported(), vls_supported());
  if (vla_supported()) {
    float *in = calloc(vla_INPUT_SIZE, sizeof(float)), *f = calloc(vla_FILTER_SIZE, sizeof(float));
    float *b = calloc(vla_BIAS_SIZE, sizeof(float)), *w = calloc(vla_PW_FILTER_SIZE, sizeof(float));
    float *out = calloc(vla_OUTPUT_SIZE, sizeof(float));
    if (!in || !f || !b || !w || !out) return 3;
    vla(in, f, b, w, out);
    printf("ran vla\n");
  }
  return 0;
}
