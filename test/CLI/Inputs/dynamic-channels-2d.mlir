func.func @k(%x: tensor<1x8x8x?xf32>, %f: tensor<3x3x?xf32>, %o: tensor<1x6x6x?xf32>) -> tensor<1x6x6x?xf32> {
  %c = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %f : tensor<1x8x8x?xf32>, tensor<3x3x?xf32>) outs(%o : tensor<1x6x6x?xf32>) -> tensor<1x6x6x?xf32>
  return %c : tensor<1x6x6x?xf32>
}
