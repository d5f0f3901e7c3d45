/* Driver for icount_kernels.S: runs both kernels and checks the SVE one computed the right thing
 * (exit 1 otherwise). */
#include <stdio.h>

void scalar_loop(void);
void sve_double(float *dst, const float *src);

static float src[1024], dst[1024];

int main(void)
{
    for (int i = 0; i < 1024; i++)
        src[i] = (float)i;
    scalar_loop();
    sve_double(dst, src);
    for (int i = 0; i < 1024; i++)
        if (dst[i] != 2.0f * (float)i) {
            printf("FAIL: dst[%d] = %g\n", i, dst[i]);
            return 1;
        }
    puts("PASS");
    return 0;
}
