# RUN: %PYTHON %s | FileCheck %s
# The upstream route (--vectorizer upstream): decomposition into 1-D row convs, and the
# schedule that tiles each row's channel dim by a scalable size ([4] lanes of 32 bits, [8]
# of 16 bits, times vscale) and vectorizes it with the same scalable size; the W tile
# divides the row's output width.

from mlir import ir

from dwmlir.ir import build_kernel_module
from dwmlir.rewrite import VectorShape, rewrite_depthwise, segments
from dwmlir.schedule import build_schedule, fill_plan, row_plan
from dwmlir.spec import ConvSpec
from dwmlir.target import get_target

SVE = get_target("aarch64-sve")
SHAPE = VectorShape(SVE.vector_bits, SVE.scalable)


def run(f):
    print("\nTEST:", f.__name__)
    with ir.Context(), ir.Location.unknown():
        f()
    return f


def schedule_for(spec: ConvSpec) -> ir.Module:
    module = build_kernel_module(spec)
    rows = rewrite_depthwise(module, SHAPE, "upstream")
    return build_schedule(rows, spec.output_shape, spec.out_bits, SVE)


# CHECK-LABEL: TEST: test_k7
# CHECK: transform.named_sequence @__transform_main(%[[ROOT:.*]]: !transform.any_op {transform.readonly})
# CHECK: %[[CONV:.*]] = transform.structured.match ops{["linalg.depthwise_conv_1d_nwc_wc"]} attributes {dwmlir.row = 0 : i64} in %[[ROOT]]
# CHECK: %[[T:.*]], %{{.*}}:3 = transform.structured.tile_using_for %[[CONV]] tile_sizes [1, 8, [4], 0]
# CHECK: transform.structured.vectorize %[[T]] vector_sizes [1, 8, [4], 7]
# CHECK: %[[FILL:.*]] = transform.structured.match ops{["linalg.fill"]} in %[[ROOT]]
# CHECK: %[[TF:.*]], %{{.*}}:3 = transform.structured.tile_using_for %[[FILL]] tile_sizes [1, 8, [4]]
# CHECK: transform.structured.vectorize %[[TF]] vector_sizes [1, 8, [4]]
@run
def test_k7():
    print(schedule_for(ConvSpec("depthwise_conv_1d_nwc_wc", (1, 1030, 64), (7, 64))))


# Outputs grouped by their in-bounds taps: with padding 1:1 and K=3 the first and last
# columns lose one tap each; with dilation 2 and padding 4 five groups appear.
# CHECK-LABEL: TEST: test_segments
# CHECK-NEXT: [(0, 1, 1, 2), (1, 8, 0, 2), (9, 1, 0, 1)]
# CHECK-NEXT: [(0, 2, 2, 4), (2, 2, 1, 4), (4, 2, 0, 4), (6, 2, 0, 3), (8, 2, 0, 2)]
# CHECK-NEXT: [(0, 9, 0, 2), (9, 1, 0, 1)]
@run
def test_segments():
    for args in ((10, 10, 3, 1, 1, 1), (10, 10, 5, 1, 2, 4), (20, 10, 3, 2, 1, 0)):
        print([(s.start, s.count, s.kmin, s.kmax) for s in segments(*args)])


# A 3x3 SAME 2-D conv: interior rows loop over oh and kh around three row convs (left
# border column, interior, right border column).
# CHECK-LABEL: TEST: test_2d_same_rows
# CHECK-NEXT: row 0 width 1 taps 2: tile [1, 1, [8], 0] vectorize [1, 1, [8], 2]
# CHECK-NEXT: row 1 width 10 taps 3: tile [1, 5, [8], 0] vectorize [1, 5, [8], 3]
# CHECK-NEXT: row 2 width 1 taps 2: tile [1, 1, [8], 0] vectorize [1, 1, [8], 2]
# CHECK: fill: tile [1, 1, 6, [8]] vectorize [1, 1, 6, [8]]
@run
def test_2d_same_rows():
    spec = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 12, 12, 16), (3, 3, 16), padding="same", dtype="f16")
    module = build_kernel_module(spec)
    rows = rewrite_depthwise(module, SHAPE, "upstream")
    for row in rows[:3]:
        print(f"row {row.tag} width {row.out_width} taps {row.taps}: {row_plan(row, SVE)}")
    print("fill:", fill_plan(spec.output_shape, spec.out_bits, SVE))


# The decomposed 3-D payload: loops over the output rows (od, oh) and the outer taps
# (kd, kh) that stay inside the input, around 1-D convs on static slices of the unpadded
# input. With SAME padding and stride 2 along W, each row has a left border column (taps
# 1..2), three interior columns (taps 0..2) and a right border column (taps 0..1).
# CHECK-LABEL: TEST: test_3d_payload
# CHECK-NOT: tensor.pad
# CHECK: scf.for %[[KD:.*]] = %c1{{.*}} to %c3
# CHECK: scf.for %[[KH:.*]] = %c1{{.*}} to %c3
# CHECK: tensor.extract_slice %{{.*}}[0, %{{.*}}, %{{.*}}, 0, 0] [2, 1, 1, 2, 20] [1, 1, 1, 1, 1] : tensor<2x6x7x9x20xi32> to tensor<2x2x20xi32>
# CHECK: tensor.extract_slice %{{.*}}[%[[KD]], %[[KH]], 1, 0] [1, 1, 2, 20] [1, 1, 1, 1] : tensor<3x3x3x20xi32> to tensor<2x20xi32>
# CHECK: linalg.depthwise_conv_1d_nwc_wc {dilations = dense<1> : tensor<1xi64>, dwmlir.row = 0 : i64, strides = dense<2> : tensor<1xi64>}
# CHECK: tensor.extract_slice %{{.*}}[0, %{{.*}}, %{{.*}}, 1, 0] [2, 1, 1, 7, 20] [1, 1, 1, 1, 1] : tensor<2x6x7x9x20xi32> to tensor<2x7x20xi32>
# CHECK: linalg.depthwise_conv_1d_nwc_wc {{.*}} dwmlir.row = 1 : i64{{.*}} outs(%{{.*}} : tensor<2x3x20xi32>)
# CHECK: linalg.depthwise_conv_1d_nwc_wc {{.*}} dwmlir.row = 2 : i64{{.*}} outs(%{{.*}} : tensor<2x1x20xi32>)
# CHECK: scf.for %[[OH:.*]] = %c1{{.*}} to %c6
# CHECK: scf.for {{.*}} = %c1{{.*}} to %c3
# CHECK: scf.for {{.*}} = %c0{{.*}} to %c3
# CHECK-NOT: linalg.depthwise_conv_3d
@run
def test_3d_payload():
    spec = ConvSpec(
        "depthwise_conv_3d_ndhwc_dhwc",
        (2, 6, 7, 9, 20),
        (3, 3, 3, 20),
        (1, 1, 2),
        padding="same",
        dtype="i32",
    )
    module = build_kernel_module(spec)
    rewrite_depthwise(module, SHAPE, "upstream")
    print(module)
