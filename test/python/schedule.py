# RUN: %PYTHON %s | FileCheck %s
# Schedules tile the channel dim by a scalable size ([4] lanes of 32 bits, times vscale) and
# vectorize with the same scalable size; the W tile divides the output width.

from mlir import ir

from dwmlir.schedule import build_schedule, describe_plan
from dwmlir.spec import ConvSpec
from dwmlir.target import get_target

SVE = get_target("aarch64-sve")


def run(f):
    print("\nTEST:", f.__name__)
    with ir.Context(), ir.Location.unknown():
        f()
    return f


# CHECK-LABEL: TEST: test_k7
# CHECK: transform.named_sequence @__transform_main(%[[ROOT:.*]]: !transform.any_op {transform.readonly})
# CHECK: %[[CONV:.*]] = transform.structured.match ops{["linalg.depthwise_conv_1d_nwc_wc"]} in %[[ROOT]]
# CHECK: %[[FILL:.*]] = transform.structured.match ops{["linalg.fill"]} in %[[ROOT]]
# CHECK: %[[T:.*]], %{{.*}}:3 = transform.structured.tile_using_for %[[CONV]] tile_sizes [1, 8, [4], 0]
# CHECK: transform.structured.vectorize %[[T]] vector_sizes [1, 8, [4], 7]
# CHECK: %[[TF:.*]], %{{.*}}:3 = transform.structured.tile_using_for %[[FILL]] tile_sizes [1, 8, [4]]
# CHECK: transform.structured.vectorize %[[TF]] vector_sizes [1, 8, [4]]
@run
def test_k7():
    print(build_schedule(ConvSpec("depthwise_conv_1d_nwc_wc", (1, 1030, 64), (7, 64)), SVE))


# The W tile is the largest divisor of the output width up to 8 (11 is prime: 1).
# CHECK-LABEL: TEST: test_w_tile
# CHECK-NEXT: tile [1, 6, [4], 0] vectorize [1, 6, [4], 3]
# CHECK-NEXT: tile [1, 1, [4], 0] vectorize [1, 1, [4], 3]
# CHECK-NEXT: tile [1, 1, [4], 0] vectorize [1, 1, [4], 7]
@run
def test_w_tile():
    for inp, flt, strides in (
        ((1, 20, 5), (3, 5), (1,)),
        ((1, 23, 5), (3, 5), (2,)),
        ((1, 7, 1), (7, 1), (1,)),
    ):
        print(describe_plan(ConvSpec("depthwise_conv_1d_nwc_wc", inp, flt, strides), SVE))
