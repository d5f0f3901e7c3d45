# MobileNetV3-Small (width 0.5, 32x32 input, random weights and BatchNorm statistics), imported
# from PyTorch and from its ONNX export. Its 11 depthwise layers (3x3 and 5x5, stride 1 and 2,
# ReLU or Hardswish) become fused kernels with the 1x1 expand conv before them; where a
# squeeze-excite block follows the activation the 1x1 project conv stays outside, elsewhere
# it is fused, with the residual add. Every kernel runs under qemu at
# 128 and 512 bits and matches torch, then onnxruntime. The ONNX import maps to the same
# kernels (same names and specs), so it reuses the library built in this process.
# REQUIRES: qemu-aarch64, aarch64-cc
# RUN: rm -rf %t && mkdir -p %t
# RUN: %PYTHON %s %t | FileCheck %s

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import models  # noqa: E402

import dwmlir  # noqa: E402

tmp = Path(sys.argv[1])
model = models.randomize(models.MobileNetV3Small(width=0.5), seed=1)
x = torch.randn(1, 3, 32, 32)

# CHECK-LABEL: kernel
# CHECK-NEXT: mnv3_features_1_block_0_0 depthwise_conv_2d_nhwc_hwc 1x8x8x8 dw bias, relu
# CHECK-NEXT: mnv3_features_2_block_1_0 depthwise_conv_2d_nhwc_hwc 1x4x4x16 expand 8, bias, relu; dw bias, relu; pointwise 16, bias
# CHECK-NEXT: mnv3_features_3_block_1_0 depthwise_conv_2d_nhwc_hwc 1x4x4x16 expand 16, bias, relu; dw bias, relu; pointwise 16, bias, residual
# CHECK-NEXT: mnv3_features_4_block_1_0 depthwise_conv_2d_nhwc_hwc 1x2x2x48 expand 16, bias, hardswish; dw bias, hardswish
# CHECK-COUNT-7: mnv3_features_{{[0-9]+}}_block_1_0 depthwise_conv_2d_nhwc_hwc {{.*}} expand {{[0-9]+}}, bias, hardswish; dw bias, hardswish
# CHECK-COUNT-22: mnv3_features_{{.*}} ok
# CHECK-NEXT: 22/22 layer runs match PyTorch
net = dwmlir.from_torch(model, x, name="mnv3", jobs=2)
models.report(net, "PyTorch")

# CHECK-LABEL: kernel
# CHECK-COUNT-11: mnv3_features_{{.*}} depthwise_conv_2d_nhwc_hwc
# CHECK-COUNT-22: mnv3_features_{{.*}} ok
# CHECK-NEXT: 22/22 layer runs match onnxruntime
models.export_onnx(model, x, str(tmp / "mnv3.onnx"))
net = dwmlir.import_onnx(tmp / "mnv3.onnx", name="mnv3", jobs=2)
models.report(net, "onnxruntime")
