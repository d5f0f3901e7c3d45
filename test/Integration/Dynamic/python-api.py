# REQUIRES: mlir_arm_emulator
# RUN: %PYTHON %s | FileCheck %s
# The Python API with run-time sizes: None in the input shape (or dynamic="n,w"), the header's
# int64_t arguments, run(sizes=...) calling the kernel at each shape in one process, and
# reference() at the input's own shape.

import numpy as np

import dwmlir

spec = dwmlir.ConvSpec(
    "depthwise_conv_1d_nwc_wc", (None, None, 16), (4, 16), padding=((3, 0),), name="causal"
)
print(spec.describe(), spec.dynamic)
# CHECK: depthwise_conv_1d_nwc_wc f32 input ?x?x16 (nwc) filter 4x16 (wc) output ?x?x16 (nwc) strides 1 dilations 1 padding 3:0 ('n', 'w')
print(dwmlir.ConvSpec("depthwise_conv_1d_nwc_wc", (2, 9, 16), (4, 16), dynamic="w").dynamic)
# CHECK-NEXT: ('w',)

kernel = dwmlir.compile(spec)
print([line for line in kernel.header.splitlines() if line.startswith("void causal")][0])
# CHECK-NEXT: void causal(const float *input, const float *filter, float *output, int64_t n, int64_t w);

for r in dwmlir.run(spec, sizes=[(1, 1, 16), (2, 9, 16), (1, 0, 16)], vector_bits=[128, 2048]):
    print(r.input_shape, r.vector_bits, r.ok, r.output.shape)
# CHECK-NEXT: (1, 1, 16) 128 True (1, 1, 16)
# CHECK-NEXT: (2, 9, 16) 128 True (2, 9, 16)
# CHECK-NEXT: (1, 0, 16) 128 True (0,)
# CHECK-NEXT: (1, 1, 16) 2048 True (1, 1, 16)
# CHECK-NEXT: (2, 9, 16) 2048 True (2, 9, 16)
# CHECK-NEXT: (1, 0, 16) 2048 True (0,)

x = np.arange(2 * 5 * 16, dtype=np.float32).reshape(2, 5, 16)
w = np.ones((4, 16), dtype=np.float32)
y = dwmlir.reference(spec, x, w)
print(y.shape, y[0, :, 0].tolist())
# CHECK-NEXT: (2, 5, 16) [0.0, 16.0, 48.0, 96.0, 160.0]
