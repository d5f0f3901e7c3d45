// Depthwise convs with dynamic sizes, for `dwmlir lower`:
// * @causal: Mamba's causal conv1d (K = 4, zero padding 3:0) with a dynamic batch and length;
//   the output is sized from the input at run time. main calls it at 1x1 and 2x5.
// * @channels: a 1-D conv with a dynamic channel dim, as in upstream's ArmSVE integration
//   test: upstream's vectorizer handles it with a scalable channel dim masked at run time.
//   main calls it with 7 channels (a masked tail at every vector length).
// Data: causal x[n, w, c] = 100n + 10w + c, f[k, c] = k + 1 + c;
// channels x[0, w, c] = w + 2c, f[k, c] = (k + 1)(c + 1) - 3.
func.func @causal(%x: tensor<?x?x3xi32>, %f: tensor<4x3xi32>) -> tensor<?x?x3xi32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0 : i32
  %n = tensor.dim %x, %c0 : tensor<?x?x3xi32>
  %w = tensor.dim %x, %c1 : tensor<?x?x3xi32>
  %p = tensor.pad %x low[0, 3, 0] high[0, 0, 0] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : i32
  } : tensor<?x?x3xi32> to tensor<?x?x3xi32>
  %e = tensor.empty(%n, %w) : tensor<?x?x3xi32>
  %y = linalg.fill ins(%zero : i32) outs(%e : tensor<?x?x3xi32>) -> tensor<?x?x3xi32>
  %r = linalg.depthwise_conv_1d_nwc_wc {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
    ins(%p, %f : tensor<?x?x3xi32>, tensor<4x3xi32>) outs(%y : tensor<?x?x3xi32>) -> tensor<?x?x3xi32>
  return %r : tensor<?x?x3xi32>
}

func.func @channels(%x: tensor<1x6x?xi32>, %f: tensor<2x?xi32>, %y: tensor<1x5x?xi32>) -> tensor<1x5x?xi32> {
  %r = linalg.depthwise_conv_1d_nwc_wc {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
    ins(%x, %f : tensor<1x6x?xi32>, tensor<2x?xi32>) outs(%y : tensor<1x5x?xi32>) -> tensor<1x5x?xi32>
  return %r : tensor<1x5x?xi32>
}

func.func @main() {
  %f = arith.constant dense<[[1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6]]> : tensor<4x3xi32>
  %x1 = arith.constant dense<[[[0, 1, 2]]]> : tensor<1x1x3xi32>
  %x2 = arith.constant dense<[[[0, 1, 2], [10, 11, 12], [20, 21, 22], [30, 31, 32], [40, 41, 42]], [[100, 101, 102], [110, 111, 112], [120, 121, 122], [130, 131, 132], [140, 141, 142]]]> : tensor<2x5x3xi32>
  %vs = vector.vscale
  vector.print str "vscale "
  vector.print %vs : index
  %d1 = tensor.cast %x1 : tensor<1x1x3xi32> to tensor<?x?x3xi32>
  %r1 = func.call @causal(%d1, %f) : (tensor<?x?x3xi32>, tensor<4x3xi32>) -> tensor<?x?x3xi32>
  %u1 = tensor.cast %r1 : tensor<?x?x3xi32> to tensor<*xi32>
  func.call @printMemrefI32(%u1) : (tensor<*xi32>) -> ()
  %d2 = tensor.cast %x2 : tensor<2x5x3xi32> to tensor<?x?x3xi32>
  %r2 = func.call @causal(%d2, %f) : (tensor<?x?x3xi32>, tensor<4x3xi32>) -> tensor<?x?x3xi32>
  %u2 = tensor.cast %r2 : tensor<?x?x3xi32> to tensor<*xi32>
  func.call @printMemrefI32(%u2) : (tensor<*xi32>) -> ()

  %xc = arith.constant dense<[[[0, 2, 4, 6, 8, 10, 12], [1, 3, 5, 7, 9, 11, 13], [2, 4, 6, 8, 10, 12, 14], [3, 5, 7, 9, 11, 13, 15], [4, 6, 8, 10, 12, 14, 16], [5, 7, 9, 11, 13, 15, 17]]]> : tensor<1x6x7xi32>
  %fc = arith.constant dense<[[-2, -1, 0, 1, 2, 3, 4], [-1, 1, 3, 5, 7, 9, 11]]> : tensor<2x7xi32>
  %zero = arith.constant 0 : i32
  %e = tensor.empty() : tensor<1x5x7xi32>
  %yc = linalg.fill ins(%zero : i32) outs(%e : tensor<1x5x7xi32>) -> tensor<1x5x7xi32>
  %dx = tensor.cast %xc : tensor<1x6x7xi32> to tensor<1x6x?xi32>
  %df = tensor.cast %fc : tensor<2x7xi32> to tensor<2x?xi32>
  %dy = tensor.cast %yc : tensor<1x5x7xi32> to tensor<1x5x?xi32>
  %rc = func.call @channels(%dx, %df, %dy) : (tensor<1x6x?xi32>, tensor<2x?xi32>, tensor<1x5x?xi32>) -> tensor<1x5x?xi32>
  %uc = tensor.cast %rc : tensor<1x5x?xi32> to tensor<*xi32>
  func.call @printMemrefI32(%uc) : (tensor<*xi32>) -> ()
  return
}

func.func private @printMemrefI32(tensor<*xi32>)
