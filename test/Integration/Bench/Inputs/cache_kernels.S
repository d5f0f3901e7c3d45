// Hand-written functions whose cache behaviour has a closed form (see cache-model.test).
// Each one touches memory only through the instruction kind in its name.
        .arch armv8.2-a+sve
        .text

// x0 = base, x1 = n: a predicated loop over elements [0, n) of 32 bits, x2 the first element
// of a vector. ``body`` makes the accesses, ``step`` advances x2 (one vector by default),
// ``setup`` runs once before the loop. Statements within an argument are separated by ';'.
.macro STREAM name, body, step="incw x2", setup=""
        .globl \name
        .type \name, %function
\name:
        mov     x2, #0
        \setup
        whilelt p0.s, x2, x1
        b.none  2f
1:      \body
        \step
        whilelt p0.s, x2, x1
        b.first 1b
2:      ret
        .size \name, .-\name
.endm

// One access per vector of floats[0, n).
        STREAM ld1w_stream, "ld1w {z0.s}, p0/z, [x0, x2, lsl #2]"
        STREAM st1w_stream, "st1w {z0.s}, p0, [x0, x2, lsl #2]"
        STREAM ldnt1w_stream, "ldnt1w {z0.s}, p0/z, [x0, x2, lsl #2]"

// A first-fault loop advances by the elements the FFR says were loaded: QEMU loads only the
// first element of an ldff1 on a page a plugin watches, as it does on MMIO.
        STREAM ldff1w_stream, "setffr; ldff1w {z0.s}, p0/z, [x0, x2, lsl #2]; rdffr p1.b, p0/z; cntp x3, p0, p1.s", "add x2, x2, x3"

// Gathers (scatters) element j from byte 64*j, one line per element.
        STREAM gather_lines, "lsl x3, x2, #4; index z1.s, w3, w4; ld1w {z0.s}, p0/z, [x0, z1.s, uxtw #2]", setup="mov w4, #16"
        STREAM scatter_lines, "lsl x3, x2, #4; index z1.s, w3, w4; st1w {z0.s}, p0, [x0, z1.s, uxtw #2]", setup="mov w4, #16"

// x0 = base, x1 = n: one ld1rw broadcast from each of n lines.
        .globl ld1rw_lines
        .type ld1rw_lines, %function
ld1rw_lines:
        cbz     x1, 2f
        ptrue   p0.s
1:      ld1rw   {z0.s}, p0/z, [x0]
        add     x0, x0, #64
        subs    x1, x1, #1
        b.ne    1b
2:      ret
        .size ld1rw_lines, .-ld1rw_lines

// x0 = base, x1 = bytes (a multiple of 256): whole-register accesses over [x0, x0 + x1).
.macro WHOLE name, insn, step
        .globl \name
        .type \name, %function
\name:
        add     x1, x0, x1
        cmp     x0, x1
        b.hs    2f
1:      \insn
        \step
        cmp     x0, x1
        b.lo    1b
2:      ret
        .size \name, .-\name
.endm

        WHOLE ldr_z_stream, "ldr z0, [x0]", "addvl x0, x0, #1"
        WHOLE str_z_stream, "str z0, [x0]", "addvl x0, x0, #1"
        WHOLE neon_stream, "ld1 {v0.4s}, [x0], #16", "nop"

// x0 = base, x1 = k, x2 = rounds, x3 = stride: rounds x (scalar loads of k addresses
// x0 + j*stride).
        .globl scalar_cycle
        .type scalar_cycle, %function
scalar_cycle:
        cbz     x1, 3f
        cbz     x2, 3f
1:      mov     x4, x0
        mov     x5, x1
2:      ldr     w6, [x4]
        add     x4, x4, x3
        subs    x5, x5, #1
        b.ne    2b
        subs    x2, x2, #1
        b.ne    1b
3:      ret
        .size scalar_cycle, .-scalar_cycle

// Loads every other vector of floats[0, n), so the lines it touches depend on the vector
// length.
        STREAM stride_vl, "ld1w {z0.s}, p0/z, [x0, x2, lsl #2]", "add x2, x2, x3", "cntw x3, all, mul #2"

// x0 = dst, x1 = src, x2 = n: dst[i] += src[i].
        .globl rmw_stream
        .type rmw_stream, %function
rmw_stream:
        mov     x3, #0
        whilelt p0.s, x3, x2
        b.none  2f
1:      ld1w    {z0.s}, p0/z, [x1, x3, lsl #2]
        ld1w    {z1.s}, p0/z, [x0, x3, lsl #2]
        fadd    z1.s, p0/m, z1.s, z0.s
        st1w    {z1.s}, p0, [x0, x3, lsl #2]
        incw    x3
        whilelt p0.s, x3, x2
        b.first 1b
2:      ret
        .size rmw_stream, .-rmw_stream

        .section .note.GNU-stack,"",%progbits
