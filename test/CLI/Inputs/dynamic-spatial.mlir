func.func @k(%x: tensor<1x?x4xf32>, %f: tensor<3x4xf32>, %o: tensor<1x8x4xf32>) -> tensor<1x8x4xf32> {
  %c = linalg.depthwise_conv_1d_nwc_wc {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
    ins(%x, %f : tensor<1x?x4xf32>, tensor<3x4xf32>) outs(%o : tensor<1x8x4xf32>) -> tensor<1x8x4xf32>
  return %c : tensor<1x8x4xf32>
}
