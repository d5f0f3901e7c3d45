func.func @k(%x: tensor<1x10x4xi8>, %f: tensor<3x4xi8>, %o: tensor<1x8x4xi32>) -> tensor<1x8x4xi32> {
  %c = linalg.depthwise_conv_1d_nwc_wc {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
    ins(%x, %f : tensor<1x10x4xi8>, tensor<3x4xi8>) outs(%o : tensor<1x8x4xi32>) -> tensor<1x8x4xi32>
  return %c : tensor<1x8x4xi32>
}
