# RUN: %PYTHON %s | FileCheck %s
# The linalg payload for 1-D nwc_wc: bare memref arguments, a zero fill, the named op with
# its strides and dilations, and an in-place write into the output buffer.

from mlir import ir

from dwmlir.ir import build_kernel_module
from dwmlir.spec import ConvSpec


def run(f):
    print("\nTEST:", f.__name__)
    with ir.Context(), ir.Location.unknown():
        f()
    return f


# CHECK-LABEL: TEST: test_nwc_wc_f32
# CHECK: func.func @k(%[[IN:.*]]: memref<1x1030x64xf32> {llvm.noalias}, %[[FLT:.*]]: memref<7x64xf32> {llvm.noalias}, %[[OUT:.*]]: memref<1x1024x64xf32> {llvm.noalias})
# CHECK: %[[T:.*]] = bufferization.to_tensor %[[IN]] restrict
# CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
# CHECK: %[[F:.*]] = linalg.fill ins(%[[Z]] : f32) outs(%{{.*}} : tensor<1x1024x64xf32>)
# CHECK: %[[R:.*]] = linalg.depthwise_conv_1d_nwc_wc {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
# CHECK-SAME: outs(%[[F]] : tensor<1x1024x64xf32>)
# CHECK: bufferization.materialize_in_destination %[[R]] in restrict writable %[[OUT]]
@run
def test_nwc_wc_f32():
    print(build_kernel_module(ConvSpec("depthwise_conv_1d_nwc_wc", (1, 1030, 64), (7, 64), name="k")))


# CHECK-LABEL: TEST: test_nwc_wc_i32_strided_dilated
# CHECK: func.func @conv_i32(%{{.*}}: memref<2x40x7xi32> {{.*}}, %{{.*}}: memref<3x7xi32> {{.*}}, %{{.*}}: memref<2x12x7xi32>
# CHECK: arith.constant 0 : i32
# CHECK: linalg.depthwise_conv_1d_nwc_wc {dilations = dense<3> : tensor<1xi64>, strides = dense<3> : tensor<1xi64>}
# CHECK-SAME: -> tensor<2x12x7xi32>
@run
def test_nwc_wc_i32_strided_dilated():
    spec = ConvSpec("depthwise_conv_1d_nwc_wc", (2, 40, 7), (3, 7), (3,), (3,), "i32", "conv_i32")
    module = build_kernel_module(spec)
    assert module.operation.verify()
    print(module)
