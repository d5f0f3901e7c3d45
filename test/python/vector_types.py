# RUN: %PYTHON %s | FileCheck %s
# Every op is vectorized with scalable vectors: the IR after our rewrite and the schedule
# holds no linalg conv, and its arithmetic is on vector<[N]x...> types. One line per op and
# element type: the scalable vector types of the multiply-accumulate, and how they load.

import re

from dwmlir.artefact import lower_to_llvm_dialect
from dwmlir.spec import ConvSpec
from dwmlir.target import get_target

SVE = get_target("aarch64-sve")


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


def summary(spec: ConvSpec, vectorizer: str = "dwmlir") -> str:
    _, _, vec, _ = lower_to_llvm_dialect(spec, SVE, vectorizer)
    assert "linalg.depthwise" not in vec, "scalar fallback"
    macs = sorted(
        {
            t
            for t in re.findall(r"(?:vector\.fma|arith\.muli)[^\n]*: (vector<[^>]*>)", vec)
            + re.findall(r'"llvm\.aarch64\.sve\.fmla"[^\n]*-> (vector<[^>]*>)', vec)  # row sweeps
            if "index" not in t
        }
    )
    loads = sorted({op for op in ("vector.transfer_read", "vector.gather") if op in vec})
    return f"{spec.op} {spec.dtype}: mac {' '.join(macs)} loads {' '.join(loads)}"


# Channels-last: register-blocked rows, scalable along C.
# CHECK-LABEL: TEST: test_channels_last
# CHECK-NEXT: depthwise_conv_1d_nwc_wc f32: mac vector<[4]xf32> loads vector.transfer_read
# CHECK-NEXT: depthwise_conv_2d_nhwc_hwc f16: mac vector<[8]xf16> loads vector.transfer_read
# CHECK-NEXT: depthwise_conv_3d_ndhwc_dhwc i32: mac vector<[4]xi32> loads vector.transfer_read
# With upstream's vectorizer: n-D vectors over (n, W block, C) of the row convs.
# CHECK-NEXT: depthwise_conv_1d_nwc_wc f32: mac vector<1x8x[4]xf32> loads vector.transfer_read
# CHECK-NEXT: depthwise_conv_2d_nhwc_hwc f16: mac vector<1x4x[8]xf16> loads vector.transfer_read
# CHECK-NEXT: depthwise_conv_3d_ndhwc_dhwc i32: mac vector<1x1x[4]xi32> loads vector.transfer_read
@run
def test_channels_last():
    specs = (
        ConvSpec("depthwise_conv_1d_nwc_wc", (1, 10, 8), (3, 8)),
        ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 6, 6, 8), (3, 3, 8), dtype="f16"),
        ConvSpec("depthwise_conv_3d_ndhwc_dhwc", (1, 4, 4, 6, 8), (3, 3, 3, 8), (1, 1, 2), dtype="i32"),
    )
    for vectorizer in ("dwmlir", "upstream"):
        for spec in specs:
            print(summary(spec, vectorizer))


# Channels-first: scalable along W; a stride of 2 reads through a gather (and the output is
# never read: each chunk accumulates every tap in registers).
# CHECK-LABEL: TEST: test_channels_first
# CHECK-NEXT: depthwise_conv_1d_ncw_cw f32: mac vector<[4]xf32> loads vector.transfer_read
# CHECK-NEXT: depthwise_conv_2d_nchw_chw f16: mac vector<[8]xf16> loads vector.gather{{$}}
# CHECK-NEXT: depthwise_conv_3d_ncdhw_cdhw i32: mac vector<[4]xi32> loads vector.transfer_read
@run
def test_channels_first():
    print(summary(ConvSpec("depthwise_conv_1d_ncw_cw", (1, 8, 10), (8, 3))))
    print(summary(ConvSpec("depthwise_conv_2d_nchw_chw", (1, 8, 6, 9), (8, 3, 3), (2, 2), dtype="f16")))
    print(summary(ConvSpec("depthwise_conv_3d_ncdhw_cdhw", (1, 8, 4, 4, 6), (8, 3, 3, 3), dtype="i32")))


# Multiplier: scalable over the flattened (c, m) dim; the input is gathered (x[j / M]).
# Quantized: i8 loads widened to i32 lanes.
# CHECK-LABEL: TEST: test_multiplier_and_quantized
# CHECK-NEXT: depthwise_conv_1d_nwc_wcm f32: mac vector<[4]xf32> loads vector.gather vector.transfer_read
# CHECK-NEXT: depthwise_conv_2d_nhwc_hwcm f16: mac vector<[8]xf16> loads vector.gather vector.transfer_read
# CHECK-NEXT: depthwise_conv_3d_ndhwc_dhwcm i32: mac vector<[4]xi32> loads vector.gather vector.transfer_read
# CHECK-NEXT: depthwise_conv_2d_nhwc_hwc_q i8: mac vector<[4]xi32> loads vector.transfer_read
# CHECK-NEXT: depthwise_conv_2d_nhwc_hwcm_q i8: mac vector<[4]xi32> loads vector.gather vector.transfer_read
@run
def test_multiplier_and_quantized():
    print(summary(ConvSpec("depthwise_conv_1d_nwc_wcm", (1, 10, 8), (3, 8, 2))))
    print(summary(ConvSpec("depthwise_conv_2d_nhwc_hwcm", (1, 6, 6, 8), (3, 3, 8, 3), dtype="f16")))
    print(summary(ConvSpec("depthwise_conv_3d_ndhwc_dhwcm", (1, 4, 4, 6, 8), (3, 3, 3, 8, 2), dtype="i32")))
    print(summary(ConvSpec("depthwise_conv_2d_nhwc_hwc_q", (1, 6, 6, 8), (3, 3, 8), dtype="i8", input_zp=3)))
    print(
        summary(
            ConvSpec("depthwise_conv_2d_nhwc_hwcm_q", (1, 6, 6, 8), (3, 3, 8, 2), dtype="i8", filter_zp=-2)
        )
    )


# The quantized multiply-accumulate subtracts broadcast zero points from sign-extended i8.
# CHECK-LABEL: TEST: test_quantized_body
# CHECK: vector.transfer_read {{.*}} : memref<{{.*}}xi8>, vector<[4]xi8>
# CHECK: arith.extsi {{.*}} : vector<[4]xi8> to vector<[4]xi32>
# CHECK: arith.subi {{.*}} : vector<[4]xi32>
# CHECK: arith.muli {{.*}} : vector<[4]xi32>
# CHECK: arith.addi {{.*}} : vector<[4]xi32>
@run
def test_quantized_body():
    spec = ConvSpec("depthwise_conv_2d_nhwc_hwc_q", (1, 4, 4, 8), (3, 3, 8), dtype="i8", input_zp=3)
    print(lower_to_llvm_dialect(spec, SVE)[2])
