/*
 * The residual add of an unfused block (`dwmlir bench --set blocks`): out = a + b over BK_N
 * floats, SVE ACLE, one vector per step (dwmlir has no kernel that adds two tensors).
 */
#include <arm_sve.h>

void BK_NAME(const float *a, const float *b, float *out) {
  for (long i = 0; i < (long)BK_N; i += (long)svcntw()) {
    const svbool_t pg = svwhilelt_b32(i, (long)BK_N);
    svst1(pg, out + i, svadd_x(pg, svld1(pg, a + i), svld1(pg, b + i)));
  }
}
