// Two functions with exactly known dynamic instruction counts, for icount.test.
// Hand-written so no compiler choice can change the counts.
        .arch   armv8.2-a+sve
        .text

// 1 + 2*100 + 1 (ret) = 202 instructions at every vector length.
        .globl  scalar_loop
        .type   scalar_loop, %function
        .p2align 2
scalar_loop:
        mov     x0, #100
1:      subs    x0, x0, #1
        b.ne    1b
        ret
        .size   scalar_loop, .-scalar_loop

// void sve_double(float *dst, const float *src): dst[i] = src[i] + src[i] for i < 1024.
// Vector-length agnostic: 1024/(VL/32) iterations of 6 instructions, plus 3 before the loop and
// the ret: 4 + 6*1024*32/VL, i.e. 1540 at 128 bits, 772 at 256, 388 at 512, 100 at 2048.
        .globl  sve_double
        .type   sve_double, %function
        .p2align 2
sve_double:
        mov     x8, #0
        mov     x9, #1024
        whilelo p0.s, x8, x9
2:      ld1w    {z0.s}, p0/z, [x1, x8, lsl #2]
        fadd    z0.s, p0/m, z0.s, z0.s
        st1w    {z0.s}, p0, [x0, x8, lsl #2]
        incw    x8
        whilelo p0.s, x8, x9
        b.first 2b
        ret
        .size   sve_double, .-sve_double
