// Depthwise convs whose accumulator is not a zero fill: an output given by the caller
// (accumulate into it) and a fill with 0.75. C = 5 gives every vector length a masked
// channel tail. The main function prints vscale and both results (run it at several VLs).
func.func @accumulate(%x: tensor<1x4x5x5xf32>, %f: tensor<3x3x5xf32>, %y: tensor<1x2x3x5xf32>) -> tensor<1x2x3x5xf32> {
  %r = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %f : tensor<1x4x5x5xf32>, tensor<3x3x5xf32>) outs(%y : tensor<1x2x3x5xf32>) -> tensor<1x2x3x5xf32>
  return %r : tensor<1x2x3x5xf32>
}

func.func @from_fill(%x: tensor<1x4x5x5xf32>, %f: tensor<3x3x5xf32>) -> tensor<1x2x3x5xf32> {
  %c = arith.constant 0.75 : f32
  %e = tensor.empty() : tensor<1x2x3x5xf32>
  %y = linalg.fill ins(%c : f32) outs(%e : tensor<1x2x3x5xf32>) -> tensor<1x2x3x5xf32>
  %r = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %f : tensor<1x4x5x5xf32>, tensor<3x3x5xf32>) outs(%y : tensor<1x2x3x5xf32>) -> tensor<1x2x3x5xf32>
  return %r : tensor<1x2x3x5xf32>
}

func.func @main() {
  %x = arith.constant dense<[[[[0.0, 0.5, 1.0, 1.5, 2.0], [1.0, 1.5, 2.0, 2.5, 3.0], [2.0, 2.5, 3.0, 3.5, 4.0], [3.0, 3.5, 4.0, 4.5, 5.0], [4.0, 4.5, 5.0, 5.5, 6.0]], [[4.0, 4.5, 5.0, 5.5, 6.0], [5.0, 5.5, 6.0, 6.5, 7.0], [6.0, 6.5, 7.0, 7.5, 8.0], [7.0, 7.5, 8.0, 8.5, 9.0], [8.0, 8.5, 9.0, 9.5, 10.0]], [[8.0, 8.5, 9.0, 9.5, 10.0], [9.0, 9.5, 10.0, 10.5, 11.0], [10.0, 10.5, 11.0, 11.5, 12.0], [11.0, 11.5, 12.0, 12.5, 13.0], [12.0, 12.5, 13.0, 13.5, 14.0]], [[12.0, 12.5, 13.0, 13.5, 14.0], [13.0, 13.5, 14.0, 14.5, 15.0], [14.0, 14.5, 15.0, 15.5, 16.0], [15.0, 15.5, 16.0, 16.5, 17.0], [16.0, 16.5, 17.0, 17.5, 18.0]]]]> : tensor<1x4x5x5xf32>
  %f = arith.constant dense<[[[0.25, 0.5, 0.25, 0.5, 0.25], [0.5, 1.0, 0.5, 1.0, 0.5], [0.75, 1.5, 0.75, 1.5, 0.75]], [[1.0, 2.0, 1.0, 2.0, 1.0], [1.25, 2.5, 1.25, 2.5, 1.25], [1.5, 3.0, 1.5, 3.0, 1.5]], [[1.75, 3.5, 1.75, 3.5, 1.75], [2.0, 4.0, 2.0, 4.0, 2.0], [2.25, 4.5, 2.25, 4.5, 2.25]]]> : tensor<3x3x5xf32>
  %y = arith.constant dense<[[[[-1.0, -0.5, 0.0, 0.5, 1.0], [-1.0, -0.5, 0.0, 0.5, 1.0], [-1.0, -0.5, 0.0, 0.5, 1.0]], [[-2.0, -1.5, -1.0, -0.5, 0.0], [-2.0, -1.5, -1.0, -0.5, 0.0], [-2.0, -1.5, -1.0, -0.5, 0.0]]]]> : tensor<1x2x3x5xf32>
  %vs = vector.vscale
  vector.print str "vscale "
  vector.print %vs : index
  %a = func.call @accumulate(%x, %f, %y) : (tensor<1x4x5x5xf32>, tensor<3x3x5xf32>, tensor<1x2x3x5xf32>) -> tensor<1x2x3x5xf32>
  %ua = tensor.cast %a : tensor<1x2x3x5xf32> to tensor<*xf32>
  func.call @printMemrefF32(%ua) : (tensor<*xf32>) -> ()
  %i = func.call @from_fill(%x, %f) : (tensor<1x4x5x5xf32>, tensor<3x3x5xf32>) -> tensor<1x2x3x5xf32>
  %ui = tensor.cast %i : tensor<1x2x3x5xf32> to tensor<*xf32>
  func.call @printMemrefF32(%ui) : (tensor<*xf32>) -> ()
  return
}

func.func private @printMemrefF32(tensor<*xf32>)
