/*
 * Shape macros shared by the baseline kernels in this folder.
 *
 * A baseline has the C ABI of a dwmlir kernel,
 *   void DW_NAME(const float *input, const float *filter, float *output);
 * with dense row-major f32 buffers in channels-last layouts and valid padding. Every rank is
 * written as 3-D: a 1-D nwc conv is ndhwc with D = H = 1, a 2-D nhwc conv has D = 1, and the
 * filter (wc, hwc, dhwc) likewise, so one source serves all three ops. All sizes are
 * compile-time constants (-D flags from dwmlir.bench.baselines), as they are in dwmlir kernels.
 */
#ifndef DW_COMMON_H
#define DW_COMMON_H

#if !defined(DW_NAME) || !defined(DW_C) || !defined(DW_IW) || !defined(DW_KW)
#error "define DW_NAME, DW_C, DW_IW and DW_KW (and optionally DW_N, DW_ID, DW_IH, DW_KD, DW_KH, DW_S*)"
#endif
#ifndef DW_N
#define DW_N 1
#endif
#ifndef DW_ID
#define DW_ID 1
#endif
#ifndef DW_IH
#define DW_IH 1
#endif
#ifndef DW_KD
#define DW_KD 1
#endif
#ifndef DW_KH
#define DW_KH 1
#endif
#ifndef DW_SD
#define DW_SD 1
#endif
#ifndef DW_SH
#define DW_SH 1
#endif
#ifndef DW_SW
#define DW_SW 1
#endif

#define DW_OD ((DW_ID - DW_KD) / DW_SD + 1)
#define DW_OH ((DW_IH - DW_KH) / DW_SH + 1)
#define DW_OW ((DW_IW - DW_KW) / DW_SW + 1)

/* Element offsets of (n, d, h, w, c) in the input and output, and of (kd, kh, kw, c) in the filter. */
#define DW_IN_AT(n, d, h, w) (((((long)(n) * DW_ID + (d)) * DW_IH + (h)) * DW_IW + (w)) * DW_C)
#define DW_OUT_AT(n, d, h, w) (((((long)(n) * DW_OD + (d)) * DW_OH + (h)) * DW_OW + (w)) * DW_C)
#define DW_FLT_AT(kd, kh, kw) ((((long)(kd) * DW_KH + (kh)) * DW_KW + (kw)) * DW_C)

void DW_NAME(const float *input, const float *filter, float *output);

#endif
