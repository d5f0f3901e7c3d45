/*
 * Baseline 1: the plain loops anyone would write for a channels-last depthwise conv, left to
 * clang's loop vectorizer (clang -O3 -march=armv8.2-a+sve, vector-length agnostic).
 *
 * The channel loop is innermost, so it is contiguous and the only loop the vectorizer needs
 * to touch; each output pixel is zeroed, then every tap adds its products into it.
 */
#include "dw_common.h"

void DW_NAME(const float *restrict input, const float *restrict filter, float *restrict output) {
  for (int n = 0; n < DW_N; ++n)
    for (int od = 0; od < DW_OD; ++od)
      for (int oh = 0; oh < DW_OH; ++oh)
        for (int ow = 0; ow < DW_OW; ++ow) {
          float *out = output + DW_OUT_AT(n, od, oh, ow);
          for (int c = 0; c < DW_C; ++c) out[c] = 0.0f;
          for (int kd = 0; kd < DW_KD; ++kd)
            for (int kh = 0; kh < DW_KH; ++kh)
              for (int kw = 0; kw < DW_KW; ++kw) {
                const float *in = input + DW_IN_AT(n, od * DW_SD + kd, oh * DW_SH + kh, ow * DW_SW + kw);
                const float *w = filter + DW_FLT_AT(kd, kh, kw);
                for (int c = 0; c < DW_C; ++c) out[c] += in[c] * w[c];
              }
        }
}
