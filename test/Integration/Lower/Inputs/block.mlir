// A MobileNet-style block on tensors: zero-pad, 3x3 depthwise conv into a zero-filled
// accumulator, then a ReLU as an elementwise linalg.generic.
#id = affine_map<(n, h, w, c) -> (n, h, w, c)>
func.func @block(%x: tensor<1x14x14x32xf32>, %f: tensor<3x3x32xf32>) -> tensor<1x14x14x32xf32> {
  %zero = arith.constant 0.0 : f32
  %padded = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x14x14x32xf32> to tensor<1x16x16x32xf32>
  %empty = tensor.empty() : tensor<1x14x14x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x14x14x32xf32>) -> tensor<1x14x14x32xf32>
  %conv = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%padded, %f : tensor<1x16x16x32xf32>, tensor<3x3x32xf32>) outs(%acc : tensor<1x14x14x32xf32>) -> tensor<1x14x14x32xf32>
  %relu = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%conv : tensor<1x14x14x32xf32>) outs(%empty : tensor<1x14x14x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x14x14x32xf32>
  return %relu : tensor<1x14x14x32xf32>
}
