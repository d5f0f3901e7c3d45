# RUN: %PYTHON %s | FileCheck %s
# The hot-loop extractor of `dwmlir bench` (dwmlir.bench.hotloop) on a fixed assembly snippet
# in LLVM's verbose style: an outer loop around a zero-fill loop (no FMAs) and a two-block
# FMA loop with a conditional block inside and an exit branch after its back-branch. Then the
# same snippet without comments (back-branch fallback), and the llvm-mca report parser.

from dwmlir.bench.hotloop import hot_loop, innermost_loops, parse_blocks
from dwmlir.bench.mca import analyze, parse_mca

ASM = """\
	.text
	.globl	k
	.type	k,@function
k:                                      // @k
// %bb.0:
	mov	x8, xzr
	cntw	x9
	ptrue	p0.s
	b	.LBB0_2
.LBB0_1:                                //   in Loop: Header=BB0_2 Depth=1
	add	x8, x8, #1
.LBB0_2:                                // =>This Loop Header: Depth=1
                                        //     Child Loop BB0_4 Depth 2
                                        //     Child Loop BB0_6 Depth 2
	cmp	x8, #15
	b.gt	.LBB0_8
// %bb.3:                               //   in Loop: Header=BB0_2 Depth=1
	mov	x10, xzr
.LBB0_4:                                //   Parent Loop BB0_2 Depth=1
                                        // =>  This Inner Loop Header: Depth=2
	st1w	{ z0.s }, p0, [x2, x10, lsl #2]
	add	x10, x10, x9
	cmp	x10, #63
	b.le	.LBB0_4
// %bb.5:                               //   in Loop: Header=BB0_2 Depth=1
	mov	x10, xzr
.LBB0_6:                                //   Parent Loop BB0_2 Depth=1
                                        // =>  This Inner Loop Header: Depth=2
	ld1w	{ z1.s }, p0/z, [x0, x10, lsl #2]
	ld1w	{ z2.s }, p0/z, [x1, x10, lsl #2]
	fmul	z3.s, z1.s, z2.s
	tbz	w11, #0, .LBB0_7
// %bb.7:                               //   in Loop: Header=BB0_6 Depth=2
	fmla	z3.s, p0/m, z1.s, z1.s
.LBB0_7:                                //   in Loop: Header=BB0_6 Depth=2
	st1w	{ z3.s }, p0, [x2, x10, lsl #2]
	add	x10, x10, x9
	mul	x13, x10, x9
	cmp	x10, #63
	b.le	.LBB0_6
	b	.LBB0_1
.LBB0_8:
	ret
.Lfunc_end0:
	.size	k, .Lfunc_end0-k
"""


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


def show(loop):
    print(f"header {loop.header} depth {loop.depth} labels {list(loop.labels)}")
    print("mix", sorted(loop.mix.items()))
    print(loop.mca_input(), end="")


# Blocks start at labels and at `// %bb.N:` lines; loop comments stay with their block.
# CHECK-LABEL: TEST: test_blocks
# CHECK-NEXT: None 0
# CHECK-NEXT: k 0
# CHECK-NEXT: None 4
# CHECK-NEXT: .LBB0_1 1 member
# CHECK-NEXT: .LBB0_2 2 header
# CHECK-NEXT: None 1 member
# CHECK-NEXT: .LBB0_4 4 header
# CHECK-NEXT: None 1 member
# CHECK-NEXT: .LBB0_6 4 header
# CHECK-NEXT: None 1 member
# CHECK-NEXT: .LBB0_7 6 member
# CHECK-NEXT: .LBB0_8 1
# CHECK-NEXT: .Lfunc_end0 0
@run
def test_blocks():
    for b in parse_blocks(ASM):
        text = " ".join(b.comments)
        kind = "header" if "=>" in text else "member" if "in Loop" in text else ""
        print(b.label, len(b.instructions), kind)


# Both innermost loops are found; the FMA loop wins. fmul counts as FMA-class (a first
# product); `mul x13` is address arithmetic; the exit branch after the back-branch is dropped.
# CHECK-LABEL: TEST: test_annotated
# CHECK-NEXT: loops ['.LBB0_4', '.LBB0_6']
# CHECK-NEXT: header .LBB0_6 depth 2 labels ['.LBB0_6', '.LBB0_7']
# CHECK-NEXT: mix [('branch', 2), ('fma', 2), ('load', 2), ('other', 3), ('store', 1)]
# CHECK-NEXT: ld1w	{ z1.s }, p0/z, [x0, x10, lsl #2]
# CHECK-NEXT: ld1w	{ z2.s }, p0/z, [x1, x10, lsl #2]
# CHECK-NEXT: fmul	z3.s, z1.s, z2.s
# CHECK-NEXT: tbz	w11, #0, .LBB0_7
# CHECK-NEXT: fmla	z3.s, p0/m, z1.s, z1.s
# CHECK-NEXT: st1w	{ z3.s }, p0, [x2, x10, lsl #2]
# CHECK-NEXT: add	x10, x10, x9
# CHECK-NEXT: mul	x13, x10, x9
# CHECK-NEXT: cmp	x10, #63
# CHECK-NEXT: b.le	.LBB0_6
# CHECK-NOT: b	.LBB0_1
@run
def test_annotated():
    print("loops", [lp.header for lp in innermost_loops(ASM)])
    show(hot_loop(ASM))


# Without LLVM's comments, back-branches delimit the loops: the same hot loop, no depth.
# CHECK-LABEL: TEST: test_back_branches
# CHECK-NEXT: loops ['.LBB0_4', '.LBB0_6']
# CHECK-NEXT: header .LBB0_6 depth None labels ['.LBB0_6', '.LBB0_7']
# CHECK-NEXT: mix [('branch', 2), ('fma', 2), ('load', 2), ('other', 3), ('store', 1)]
@run
def test_back_branches():
    bare = "\n".join(line.split("//")[0].rstrip() for line in ASM.splitlines())
    print("loops", [lp.header for lp in innermost_loops(bare)])
    loop = hot_loop(bare)
    print(f"header {loop.header} depth {loop.depth} labels {list(loop.labels)}")
    print("mix", sorted(loop.mix.items()))


# No FMA anywhere: no hot loop.
# CHECK-LABEL: TEST: test_no_fma
# CHECK-NEXT: None
@run
def test_no_fma():
    print(hot_loop(ASM.replace("fmul\tz3.s, z1.s, z2.s", "mov\tz3.d, z1.d").replace("fmla", "orr")))


# Straight-line main work in an outer loop's body and a one-at-a-time tail in a nested loop:
# the outer loop's own body (the nested loop cut out) has more FMAs, so it is the hot loop,
# from the comments and from back-branches alike.
ASM_OUTER = """\
k2:                                     // @k2
// %bb.0:
	mov	x8, xzr
.LBB1_1:                                // =>This Loop Header: Depth=1
                                        //     Child Loop BB1_2 Depth 2
	ld1w	{ z1.s }, p0/z, [x0, x8, lsl #2]
	fmul	z2.s, z1.s, z0.s
	fmla	z2.s, p0/m, z1.s, z3.s
	fmla	z2.s, p0/m, z1.s, z4.s
	st1w	{ z2.s }, p0, [x2, x8, lsl #2]
	mov	x9, xzr
.LBB1_2:                                //   Parent Loop BB1_1 Depth=1
                                        // =>  This Inner Loop Header: Depth=2
	ld1w	{ z5.s }, p0/z, [x1, x9, lsl #2]
	fmla	z5.s, p0/m, z5.s, z0.s
	st1w	{ z5.s }, p0, [x1, x9, lsl #2]
	add	x9, x9, #1
	cmp	x9, #3
	b.lt	.LBB1_2
// %bb.3:                               //   in Loop: Header=BB1_1 Depth=1
	add	x8, x8, #1
	cmp	x8, #64
	b.lt	.LBB1_1
// %bb.4:
	ret
"""


# CHECK-LABEL: TEST: test_outer_body
# CHECK-NEXT: header .LBB1_1 innermost False instructions 9 fma 3
# CHECK-NEXT: header .LBB1_1 innermost False instructions 9 fma 3
@run
def test_outer_body():
    bare = "\n".join(line.split("//")[0].rstrip() for line in ASM_OUTER.splitlines())
    for text in (ASM_OUTER, bare):
        loop = hot_loop(text)
        print(
            f"header {loop.header} innermost {loop.innermost} instructions {len(loop.instructions)} fma {loop.fmas}"
        )


# The llvm-mca parser on a fixed report: two FMA pipes, FMA-class pressure 3.0 on them over
# 2 pipes * 2.5 cycles = 60%; all pressure on them (the mov adds 1.0) = 80%.
MCA_REPORT = """\
Iterations:        100
Instructions:      400
Total Cycles:      250
Total uOps:        400

Dispatch Width:    4
uOps Per Cycle:    1.60
IPC:               1.60
Block RThroughput: 2.0


Cycles with backend pressure increase [ 40.00% ]
Throughput Bottlenecks:
  Resource Pressure       [ 40.00% ]
  - CPUUnitV0  [ 40.00% ]
  - CPUUnitL  [ 10.00% ]
  Data Dependencies:      [ 5.00% ]
  - Register Dependencies [ 5.00% ]
  - Memory Dependencies   [ 0.00% ]

Critical sequence based on the simulation:

Resources:
[0]   - CPUUnitL
[1]   - CPUUnitV0
[2]   - CPUUnitV1


Resource pressure per iteration:
[0]    [1]    [2]
1.00   2.00   2.00

Resource pressure by instruction:
[0]    [1]    [2]    Instructions:
1.00    -      -     ld1w	{ z1.s }, p0/z, [x0]
 -     1.00   0.50   fmla	z0.s, p0/m, z1.s, z1.s
 -     1.00   0.50   fmla	z2.s, p0/m, z1.s, z1.s
 -      -     1.00   mov	z3.d, z1.d
"""


# CHECK-LABEL: TEST: test_parse_mca
# CHECK-NEXT: cycles 2.50 ipc 1.60 fma 0.60 busy 0.80 pipes ('CPUUnitV0', 'CPUUnitV1') bottleneck CPUUnitV0 40%
@run
def test_parse_mca():
    m = parse_mca("cpu", MCA_REPORT, [False, True, True, False])
    print(
        f"cycles {m.cycles_per_iteration:.2f} ipc {m.ipc:.2f} fma {m.fma_utilization:.2f} "
        f"busy {m.pipe_busy:.2f} pipes {m.fma_pipes} bottleneck {m.bottleneck}"
    )


# The real llvm-mca on the extracted loop: Neoverse V2 runs FMLA on its four V pipes.
# CHECK-LABEL: TEST: test_mca_neoverse_v2
# CHECK-NEXT: pipes ('V2UnitV0', 'V2UnitV1', 'V2UnitV2', 'V2UnitV3') cycles>0 True util<=1 True
@run
def test_mca_neoverse_v2():
    m = analyze(hot_loop(ASM), "neoverse-v2")
    print(f"pipes {m.fma_pipes} cycles>0 {m.cycles_per_iteration > 0} util<=1 {0 < m.fma_utilization <= 1}")
