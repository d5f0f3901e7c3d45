# RUN: %PYTHON %s | FileCheck %s
# Every stage of the lowering: vectorized IR with scalable vectors and masks on the channel
# tail, then an LLVM-dialect kernel with bare pointers, SVE intrinsics and a vscale_range.
# First dwmlir's register-blocked rows (the default), then upstream's vectorizer on row convs.

from dwmlir.artefact import lower_to_llvm_dialect
from dwmlir.spec import ConvSpec
from dwmlir.target import get_target


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


# Full channel vectors (C - C mod VL, at run time) with no mask: the 7 filter taps are read
# once per channel step, then blocks of 8 output columns whose first tap multiplies and the
# other six fuse (the conv is dilated: undilated, a 1-D conv of up to 12 taps sweeps its row,
# python/blocked.py). The tail step is an scf.if: masked filter taps, and per block a choice
# between unmasked reads of the flat input (the extra lanes are never stored) and masked ones.
# CHECK-LABEL: TEST: test_blocked_stages
# CHECK: memref.collapse_shape %{{.*}} {{\[}}[0, 1, 2]] : memref<1x1036x60xf32> into memref<62160xf32>
# CHECK: %[[VL:.*]] = arith.muli %vscale, %c4
# CHECK: %[[REM:.*]] = arith.remui %c60{{.*}}, %[[VL]]
# CHECK: scf.for %[[C0:.*]] = %c0 to %{{.*}} step %[[VL]] {
# CHECK-COUNT-7: vector.transfer_read %arg1[%{{.*}}, %[[C0]]], %{{.*}} {in_bounds = [true]} : memref<7x60xf32>, vector<[4]xf32>
# CHECK: scf.for %[[OW:.*]] = %c0 to %c1024 step %c8 {
# CHECK-COUNT-8: arith.mulf {{.*}} : vector<[4]xf32>
# CHECK-COUNT-48: vector.fma {{.*}} : vector<[4]xf32>
# CHECK-COUNT-8: vector.transfer_write %{{.*}}, %arg2[%{{.*}}, %{{.*}}, %[[C0]]] {in_bounds = [true]} : vector<[4]xf32>, memref<1x1024x60xf32>
# CHECK: } {loop_annotation = #{{.*}}}
# CHECK: scf.if
# CHECK: %[[MASK:.*]] = vector.create_mask %[[REM]] : vector<[4]xi1>
# CHECK: vector.transfer_read %arg1{{.*}}, %[[MASK]] {in_bounds = [true]} : memref<7x60xf32>, vector<[4]xf32>
# CHECK: scf.if
# CHECK: vector.transfer_read %collapse_shape[%{{.*}}], %{{.*}} {in_bounds = [true]} : memref<62160xf32>, vector<[4]xf32>
# CHECK: } else {
# CHECK: vector.transfer_read %arg0{{.*}}, %[[MASK]] {in_bounds = [true]} : memref<1x1036x60xf32>, vector<[4]xf32>
# CHECK: vector.transfer_write {{.*}}, %[[MASK]] {in_bounds = [true]} : vector<[4]xf32>, memref<1x1024x60xf32>
# CHECK-NOT: linalg.
# CHECK: LLVM
# CHECK: llvm.func @k(
# CHECK: llvm.load {{.*}} -> vector<[4]xf32>
# CHECK: llvm.intr.fmuladd{{.*}}vector<[4]xf32>
# CHECK: llvm.intr.masked.store {{.*}} vector<[4]xf32>
# CHECK-NOT: memrefCopy
# CHECK-NOT: malloc
@run
def test_blocked_stages():
    spec = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 1036, 60), (7, 60), dilations=(2,), name="k")
    _, _, vector, llvm = lower_to_llvm_dialect(spec, get_target("aarch64-sve"))
    print(vector)
    print("LLVM")
    print(llvm)


# Upstream's conv vectorizer on the row conv, tiled by the schedule.
# CHECK-LABEL: TEST: test_f32_stages
# CHECK: vector.vscale
# CHECK: scf.for
# CHECK: vector.create_mask %{{.*}}, %{{.*}}, %{{.*}} : vector<1x8x[4]xi1>
# CHECK: vector.transfer_read {{.*}} vector<1x14x[4]xf32>
# CHECK: vector.transfer_read {{.*}} vector<7x[4]xf32>
# CHECK-COUNT-7: vector.fma {{.*}} : vector<1x8x[4]xf32>
# CHECK: vector.transfer_write {{.*}} vector<1x8x[4]xf32>
# CHECK-NOT: linalg.depthwise
# CHECK: LLVM
# CHECK: llvm.func @k(%{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias})
# CHECK-SAME: vscale_range(1, 16)
# CHECK: llvm.intr.vscale
# CHECK: llvm.intr.masked.load {{.*}} -> vector<[4]xf32>
# CHECK: llvm.intr.fmuladd{{.*}}vector<[4]xf32>
# CHECK: llvm.intr.masked.store {{.*}} vector<[4]xf32>
# CHECK-NOT: memrefCopy
# CHECK-NOT: malloc
@run
def test_f32_stages():
    spec = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 1030, 64), (7, 64), name="k")
    _, _, vector, llvm = lower_to_llvm_dialect(spec, get_target("aarch64-sve"), "upstream")
    print(vector)
    print("LLVM")
    print(llvm)


# CHECK-LABEL: TEST: test_i32_stride2
# Output width 4, stride 2: an 8-column input slice; the strided W dim is unrolled.
# CHECK: vector.transfer_read {{.*}} vector<1x8x[4]xi32>
# CHECK: vector.transfer_read {{.*}} vector<2x[4]xi32>
# CHECK: vector.transfer_read {{.*}} vector<1x4x[4]xi32>
# CHECK-COUNT-8: arith.muli {{.*}} : vector<1x1x[4]xi32>
# CHECK: LLVM
# CHECK: llvm.intr.masked.load {{.*}} -> vector<[4]xi32>
# CHECK: llvm.mul {{.*}} : vector<[4]xi32>
# CHECK: llvm.add {{.*}} : vector<[4]xi32>
@run
def test_i32_stride2():
    spec = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 9, 3), (2, 3), (2,), (1,), "i32", "k")
    _, _, vector, llvm = lower_to_llvm_dialect(spec, get_target("aarch64-sve"), "upstream")
    print(vector)
    print("LLVM")
    print(llvm)


# `dwmlir lower` picks llc's flags as `dwmlir compile` does: a module with a fused GEMM (a
# 1x1 conv tagged by `dwmlir gen`) on f32 convs for SVE runs without the machine scheduler
# (compile.machine_scheduler); a bare conv, or NEON, keeps it.
# CHECK-LABEL: TEST: test_lower_machine_scheduler
# CHECK-NEXT: block, aarch64-sve: without the machine scheduler True
# CHECK-NEXT: block, aarch64-neon: without the machine scheduler False
# CHECK-NEXT: bare conv, aarch64-sve: without the machine scheduler False
# CHECK-NEXT: f16 block, aarch64-sve: without the machine scheduler False
@run
def test_lower_machine_scheduler():
    import dwmlir.artefact.lower as lower
    from dwmlir.artefact.gen import generate
    from dwmlir.spec import BlockSpec, Epilogue, Pointwise

    conv = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 6, 6, 8), (3, 3, 8), padding="same")
    f16 = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 6, 6, 8), (3, 3, 8), padding="same", dtype="f16")
    cases = [
        ("block", BlockSpec(conv, Epilogue(), Pointwise(4)), "aarch64-sve"),
        ("block", BlockSpec(conv, Epilogue(), Pointwise(4)), "aarch64-neon"),
        ("bare conv", conv, "aarch64-sve"),
        ("f16 block", BlockSpec(f16, Epilogue(), Pointwise(4)), "aarch64-sve"),
    ]
    real, seen = lower.run, []

    def run_and_see(args, **kwargs):
        seen.append([str(a) for a in args])
        return real(args, **kwargs)

    lower.run = run_and_see
    try:
        for label, spec, name in cases:
            seen.clear()
            target = get_target(name)
            lower.lower_module(generate(spec, target, False), label, target, None, "asm")
            print(f"{label}, {name}: without the machine scheduler", "-enable-misched=false" in seen[-1])
    finally:
        lower.run = real
