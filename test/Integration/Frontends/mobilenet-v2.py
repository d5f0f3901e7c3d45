# MobileNetV2 (width 0.35, 32x32 input, random weights and BatchNorm statistics), imported from
# PyTorch and from its ONNX export: each of its 17 inverted residual blocks becomes one fused
# kernel (1x1 expand conv, BatchNorm folded, ReLU6; depthwise conv, BatchNorm, ReLU6; linear
# 1x1 project conv and its BatchNorm; the residual add where the block has one); only the stem
# conv, the last 1x1 conv and the classifier stay in the framework. Every kernel runs
# under qemu at 128 and 512 bits and matches torch, then onnxruntime. The ONNX import maps to
# the same kernels (same names and specs), so it reuses the library built in this process.
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
model = models.randomize(models.MobileNetV2(width=0.35))
x = torch.randn(1, 3, 32, 32)

# CHECK-LABEL: kernel
# CHECK-NEXT: mnv2_features_1_conv_0_0 depthwise_conv_2d_nhwc_hwc 1x16x16x8 dw bias, relu6; pointwise 8, bias
# CHECK-NEXT: mnv2_features_2_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x8x8x8 expand 8, bias, relu6; dw bias, relu6; pointwise 8, bias
# CHECK-NEXT: mnv2_features_3_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x8x8x8 expand 8, bias, relu6; dw bias, relu6; pointwise 8, bias, residual
# CHECK-NEXT: mnv2_features_4_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x4x4x16 expand 8, bias, relu6; dw bias, relu6; pointwise 16, bias
# CHECK-NEXT: mnv2_features_5_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x4x4x16 expand 16, bias, relu6; dw bias, relu6; pointwise 16, bias, residual
# CHECK-NEXT: mnv2_features_6_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x4x4x16 expand 16, bias, relu6; dw bias, relu6; pointwise 16, bias, residual
# CHECK-NEXT: mnv2_features_7_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x2x2x24 expand 16, bias, relu6; dw bias, relu6; pointwise 24, bias
# CHECK-NEXT: mnv2_features_8_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x2x2x24 expand 24, bias, relu6; dw bias, relu6; pointwise 24, bias, residual
# CHECK-NEXT: mnv2_features_9_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x2x2x24 expand 24, bias, relu6; dw bias, relu6; pointwise 24, bias, residual
# CHECK-NEXT: mnv2_features_10_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x2x2x24 expand 24, bias, relu6; dw bias, relu6; pointwise 24, bias, residual
# CHECK-NEXT: mnv2_features_11_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x2x2x32 expand 24, bias, relu6; dw bias, relu6; pointwise 32, bias
# CHECK-NEXT: mnv2_features_12_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x2x2x32 expand 32, bias, relu6; dw bias, relu6; pointwise 32, bias, residual
# CHECK-NEXT: mnv2_features_13_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x2x2x32 expand 32, bias, relu6; dw bias, relu6; pointwise 32, bias, residual
# CHECK-NEXT: mnv2_features_14_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x1x1x56 expand 32, bias, relu6; dw bias, relu6; pointwise 56, bias
# CHECK-NEXT: mnv2_features_15_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x1x1x56 expand 56, bias, relu6; dw bias, relu6; pointwise 56, bias, residual
# CHECK-NEXT: mnv2_features_16_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x1x1x56 expand 56, bias, relu6; dw bias, relu6; pointwise 56, bias, residual
# CHECK-NEXT: mnv2_features_17_conv_1_0 depthwise_conv_2d_nhwc_hwc 1x1x1x112 expand 56, bias, relu6; dw bias, relu6; pointwise 112, bias
# CHECK-COUNT-34: mnv2_features_{{.*}} ok
# CHECK-NEXT: 34/34 layer runs match PyTorch
net = torch_net = dwmlir.from_torch(model, x, out_dir=tmp / "torch", name="mnv2", jobs=2)
models.report(net, "PyTorch")

# The header and the weights source are written, one apply function per layer.
# CHECK: files: libmnv2.a mnv2.h mnv2.json mnv2_weights.c
# CHECK-NEXT: apply: 17
print("files:", *sorted(net.paths))
print("apply:", (tmp / "torch" / "mnv2.h").read_text().count("_apply(const float *input, float *output);"))

# CHECK-LABEL: kernel
# CHECK-NEXT: mnv2_features_1_conv_0_0 depthwise_conv_2d_nhwc_hwc 1x16x16x8 dw bias, relu6; pointwise 8, bias
# CHECK-COUNT-16: mnv2_features_{{[0-9]+}}_conv_1_0 depthwise_conv_2d_nhwc_hwc {{.*}} expand {{[0-9]+}}, bias, relu6; dw bias, relu6; pointwise {{[0-9]+}}, bias
# CHECK-COUNT-34: mnv2_features_{{.*}} ok
# CHECK-NEXT: 34/34 layer runs match onnxruntime
models.export_onnx(model, x, str(tmp / "mnv2.onnx"))
net = dwmlir.import_onnx(tmp / "mnv2.onnx", out_dir=tmp / "onnx", name="mnv2", jobs=2)
models.report(net, "onnxruntime")

# CHECK-NEXT: same kernels as from PyTorch: True
print("same kernels as from PyTorch:", [a.block for a in net.layers] == [b.block for b in torch_net.layers])
