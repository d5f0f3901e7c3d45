# RUN: %PYTHON %s | FileCheck %s
# A 1-D nwc_wc conv with a dynamic channel dim (as in upstream's ArmSVE test) keeps working:
# the rewrite leaves it whole, and the schedule vectorizes it with a scalable channel dim,
# masked by the runtime channel count.

from mlir import ir
from mlir.passmanager import PassManager

from dwmlir.rewrite import VectorShape, rewrite_depthwise
from dwmlir.schedule import apply_schedule, build_schedule
from dwmlir.target import get_target

SVE = get_target("aarch64-sve")

SOURCE = """
func.func @conv(%in: tensor<1x8x?xi32>, %f: tensor<2x?xi32>, %out: tensor<1x7x?xi32>) -> tensor<1x7x?xi32> {
  %r = linalg.depthwise_conv_1d_nwc_wc {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
    ins(%in, %f : tensor<1x8x?xi32>, tensor<2x?xi32>) outs(%out : tensor<1x7x?xi32>) -> tensor<1x7x?xi32>
  return %r : tensor<1x7x?xi32>
}
"""

# CHECK-LABEL: TEST: dynamic_channels
# CHECK: rows 1 channels -1 width 7 taps 2
# CHECK: tile_using_for %{{.*}} tile_sizes [1, 7, [4], 0]
# CHECK: vectorize %{{.*}} vector_sizes [1, 7, [4], 2]
# CHECK: func.func @conv
# CHECK: tensor.dim %{{.*}}, %c2 : tensor<1x8x?xi32>
# CHECK: vector.create_mask {{.*}} : vector<1x8x[4]xi1>
# CHECK: vector.transfer_read {{.*}} vector<1x8x[4]xi32>
# CHECK: arith.muli {{.*}} : vector<1x7x[4]xi32>
# CHECK-NOT: linalg.depthwise
print("\nTEST: dynamic_channels")
with ir.Context(), ir.Location.unknown():
    module = ir.Module.parse(SOURCE)
    rows = rewrite_depthwise(module, VectorShape(SVE.vector_bits, SVE.scalable))
    print("rows", len(rows), "channels", rows[0].channels, "width", rows[0].out_width, "taps", rows[0].taps)
    schedule = build_schedule(rows, None, 32, SVE)
    print(schedule)
    apply_schedule(module, schedule)
    PassManager.parse("builtin.module(canonicalize,cse)").run(module.operation)
    print(module)
