func.func @k(%x: tensor<?x?x4xf32>, %f: tensor<?x4xf32>, %o: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %c = linalg.depthwise_conv_1d_nwc_wc {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
    ins(%x, %f : tensor<?x?x4xf32>, tensor<?x4xf32>) outs(%o : tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return %c : tensor<?x?x4xf32>
}
