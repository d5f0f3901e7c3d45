// A fused block (3x3 depthwise conv, then a 1x1 conv) whose pointwise weights are a strided
// view: columns 1..4 of an 8x6 buffer (`weight_reader`'s path for weights that are not a dense
// row-major matrix). The main function prints vscale and the output (run it at several VLs).
#map = affine_map<(d0, d1) -> (d0, d1)>
memref.global "private" constant @x : memref<1x4x4x8xf32> = dense<[[[[0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75],
   [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0],
   [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25],
   [0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5]],

  [[1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75],
   [1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0],
   [1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25],
   [1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5]],

  [[2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5, 3.75],
   [2.25, 2.5, 2.75, 3.0, 3.25, 3.5, 3.75, 4.0],
   [2.5, 2.75, 3.0, 3.25, 3.5, 3.75, 4.0, 4.25],
   [2.75, 3.0, 3.25, 3.5, 3.75, 4.0, 4.25, 4.5]],

  [[3.0, 3.25, 3.5, 3.75, 4.0, 4.25, 4.5, 4.75],
   [3.25, 3.5, 3.75, 4.0, 4.25, 4.5, 4.75, 5.0],
   [3.5, 3.75, 4.0, 4.25, 4.5, 4.75, 5.0, 5.25],
   [3.75, 4.0, 4.25, 4.5, 4.75, 5.0, 5.25, 5.5]]]]>
memref.global "private" constant @f : memref<3x3x8xf32> = dense<[[[0.125, 0.25, 0.125, 0.25, 0.125, 0.25, 0.125, 0.25],
  [0.25, 0.5, 0.25, 0.5, 0.25, 0.5, 0.25, 0.5],
  [0.375, 0.75, 0.375, 0.75, 0.375, 0.75, 0.375, 0.75]],

 [[0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0],
  [0.625, 1.25, 0.625, 1.25, 0.625, 1.25, 0.625, 1.25],
  [0.75, 1.5, 0.75, 1.5, 0.75, 1.5, 0.75, 1.5]],

 [[0.875, 1.75, 0.875, 1.75, 0.875, 1.75, 0.875, 1.75],
  [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
  [1.125, 2.25, 1.125, 2.25, 1.125, 2.25, 1.125, 2.25]]]>
memref.global "private" constant @w6 : memref<8x6xf32> = dense<[[0.0, -1.0, -2.0, -3.0, -4.0, -5.0],
 [0.5, -0.5, -1.5, -2.5, -3.5, -4.5],
 [1.0, 0.0, -1.0, -2.0, -3.0, -4.0],
 [1.5, 0.5, -0.5, -1.5, -2.5, -3.5],
 [2.0, 1.0, 0.0, -1.0, -2.0, -3.0],
 [2.5, 1.5, 0.5, -0.5, -1.5, -2.5],
 [3.0, 2.0, 1.0, 0.0, -1.0, -2.0],
 [3.5, 2.5, 1.5, 0.5, -0.5, -1.5]]>

  func.func @dwconv(%arg0: memref<1x4x4x8xf32> {llvm.noalias}, %arg1: memref<3x3x8xf32> {llvm.noalias}, %arg2: memref<8x4xf32, strided<[6, 1], offset: 1>> {llvm.noalias}, %arg3: memref<1x4x4x4xf32> {llvm.noalias}) {
    %0 = bufferization.to_tensor %arg0 restrict : memref<1x4x4x8xf32> to tensor<1x4x4x8xf32>
    %1 = bufferization.to_tensor %arg1 restrict : memref<3x3x8xf32> to tensor<3x3x8xf32>
    %padded = tensor.pad %0 low[0, 1, 1, 0] high[0, 1, 1, 0] {
    ^bb0(%arg4: index, %arg5: index, %arg6: index, %arg7: index):
      %cst_1 = arith.constant 0.000000e+00 : f32
      tensor.yield %cst_1 : f32
    } : tensor<1x4x4x8xf32> to tensor<1x6x6x8xf32>
    %2 = tensor.empty() : tensor<1x4x4x8xf32>
    %cst = arith.constant 0.000000e+00 : f32
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %4 = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%padded, %1 : tensor<1x6x6x8xf32>, tensor<3x3x8xf32>) outs(%3 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    %5 = bufferization.to_tensor %arg2 restrict : memref<8x4xf32, strided<[6, 1], offset: 1>> to tensor<8x4xf32>
    %collapsed = tensor.collapse_shape %4 [[0, 1, 2], [3]] : tensor<1x4x4x8xf32> into tensor<16x8xf32>
    %cst_0 = arith.constant 0.000000e+00 : f32
    %6 = tensor.empty() : tensor<16x4xf32>
    %7 = linalg.fill ins(%cst_0 : f32) outs(%6 : tensor<16x4xf32>) -> tensor<16x4xf32>
    %8 = linalg.matmul {dwmlir.pointwise} ins(%collapsed, %5 : tensor<16x8xf32>, tensor<8x4xf32>) outs(%7 : tensor<16x4xf32>) -> tensor<16x4xf32>
    %9 = tensor.empty() : tensor<16x4xf32>
    %10 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%8 : tensor<16x4xf32>) outs(%9 : tensor<16x4xf32>) attrs =  {dwmlir.pw_epilogue = {activation = "none", bias = false, hi = 0.000000e+00 : f64, lo = 0.000000e+00 : f64, output_zp = 0 : i32, requantize = false, residual = false}} {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<16x4xf32>
    %expanded = tensor.expand_shape %10 [[0, 1, 2], [3]] output_shape [1, 4, 4, 4] : tensor<16x4xf32> into tensor<1x4x4x4xf32>
    bufferization.materialize_in_destination %expanded in restrict writable %arg3 : (tensor<1x4x4x4xf32>, memref<1x4x4x4xf32>) -> ()
    return
  }

func.func @main() {
  %x = memref.get_global @x : memref<1x4x4x8xf32>
  %f = memref.get_global @f : memref<3x3x8xf32>
  %w6 = memref.get_global @w6 : memref<8x6xf32>
  %w = memref.subview %w6[0, 1] [8, 4] [1, 1] : memref<8x6xf32> to memref<8x4xf32, strided<[6, 1], offset: 1>>
  %o = memref.alloc() : memref<1x4x4x4xf32>
  %vs = vector.vscale
  vector.print str "vscale "
  vector.print %vs : index
  func.call @dwconv(%x, %f, %w, %o) : (memref<1x4x4x8xf32>, memref<3x3x8xf32>, memref<8x4xf32, strided<[6, 1], offset: 1>>, memref<1x4x4x4xf32>) -> ()
  %u = memref.cast %o : memref<1x4x4x4xf32> to memref<*xf32>
  func.call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %o : memref<1x4x4x4xf32>
  return
}

func.func private @printMemrefF32(memref<*xf32>)
