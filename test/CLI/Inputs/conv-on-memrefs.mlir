func.func @k(%x: memref<1x10x4xf32>, %f: memref<3x4xf32>, %o: memref<1x8x4xf32>) {
  linalg.depthwise_conv_1d_nwc_wc {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
    ins(%x, %f : memref<1x10x4xf32>, memref<3x4xf32>) outs(%o : memref<1x8x4xf32>)
  return
}
