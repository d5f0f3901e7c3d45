// A depthwise conv next to an op dwmlir does not lower: the matmul is named with its location.
func.func @mixed(%x: tensor<1x9x4xf32>, %f: tensor<3x4xf32>, %o: tensor<1x7x4xf32>,
                 %a: tensor<4x4xf32>, %b: tensor<4x4xf32>, %c: tensor<4x4xf32>) -> (tensor<1x7x4xf32>, tensor<4x4xf32>) {
  %conv = linalg.depthwise_conv_1d_nwc_wc {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
    ins(%x, %f : tensor<1x9x4xf32>, tensor<3x4xf32>) outs(%o : tensor<1x7x4xf32>) -> tensor<1x7x4xf32>
  %m = linalg.matmul
       ins(%a, %b : tensor<4x4xf32>, tensor<4x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %conv, %m : tensor<1x7x4xf32>, tensor<4x4xf32>
}
