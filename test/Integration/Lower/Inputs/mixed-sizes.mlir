// A depthwise conv whose input height is dynamic and whose output is static (1x6x6x3),
// for `dwmlir lower`: the input's run-time size alone makes the row dim dynamic.
// Data: x[0, h, w, c] = 10h + w - 3c; f[kh, kw, c] = (3kh + kw + 1) * (c == 1 ? -1 : 1) + c.
func.func @mixed(%x: tensor<1x?x8x3xi32>, %f: tensor<3x3x3xi32>, %y: tensor<1x6x6x3xi32>) -> tensor<1x6x6x3xi32> {
  %r = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %f : tensor<1x?x8x3xi32>, tensor<3x3x3xi32>) outs(%y : tensor<1x6x6x3xi32>) -> tensor<1x6x6x3xi32>
  return %r : tensor<1x6x6x3xi32>
}

func.func @main() {
  %x = arith.constant dense<[[[[ 0, -3, -6],   [ 1, -2, -5],   [ 2, -1, -4],   [ 3,  0, -3],   [ 4,  1, -2],   [ 5,  2, -1],   [ 6,  3,  0],   [ 7,  4,  1]],  [[10,  7,  4],   [11,  8,  5],   [12,  9,  6],   [13, 10,  7],   [14, 11,  8],   [15, 12,  9],   [16, 13, 10],   [17, 14, 11]],  [[20, 17, 14],   [21, 18, 15],   [22, 19, 16],   [23, 20, 17],   [24, 21, 18],   [25, 22, 19],   [26, 23, 20],   [27, 24, 21]],  [[30, 27, 24],   [31, 28, 25],   [32, 29, 26],   [33, 30, 27],   [34, 31, 28],   [35, 32, 29],   [36, 33, 30],   [37, 34, 31]],  [[40, 37, 34],   [41, 38, 35],   [42, 39, 36],   [43, 40, 37],   [44, 41, 38],   [45, 42, 39],   [46, 43, 40],   [47, 44, 41]],  [[50, 47, 44],   [51, 48, 45],   [52, 49, 46],   [53, 50, 47],   [54, 51, 48],   [55, 52, 49],   [56, 53, 50],   [57, 54, 51]],  [[60, 57, 54],   [61, 58, 55],   [62, 59, 56],   [63, 60, 57],   [64, 61, 58],   [65, 62, 59],   [66, 63, 60],   [67, 64, 61]],  [[70, 67, 64],   [71, 68, 65],   [72, 69, 66],   [73, 70, 67],   [74, 71, 68],   [75, 72, 69],   [76, 73, 70],   [77, 74, 71]]]]> : tensor<1x8x8x3xi32>
  %f = arith.constant dense<[[[ 1,  0,  3],  [ 2, -1,  4],  [ 3, -2,  5]], [[ 4, -3,  6],  [ 5, -4,  7],  [ 6, -5,  8]], [[ 7, -6,  9],  [ 8, -7, 10],  [ 9, -8, 11]]]> : tensor<3x3x3xi32>
  %zero = arith.constant 0 : i32
  %e = tensor.empty() : tensor<1x6x6x3xi32>
  %y = linalg.fill ins(%zero : i32) outs(%e : tensor<1x6x6x3xi32>) -> tensor<1x6x6x3xi32>
  %vs = vector.vscale
  vector.print str "vscale "
  vector.print %vs : index
  %dx = tensor.cast %x : tensor<1x8x8x3xi32> to tensor<1x?x8x3xi32>
  %r = func.call @mixed(%dx, %f, %y) : (tensor<1x?x8x3xi32>, tensor<3x3x3xi32>, tensor<1x6x6x3xi32>) -> tensor<1x6x6x3xi32>
  %u = tensor.cast %r : tensor<1x6x6x3xi32> to tensor<*xi32>
  func.call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return
}

func.func private @printMemrefI32(tensor<*xi32>)
