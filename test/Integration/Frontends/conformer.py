# A Conformer convolution module (1-D, 64 channels, 50 frames, K=31 depthwise with torch's
# padding=15, BatchNorm1d, SiLU, pointwise conv, dropout): the depthwise conv, BatchNorm, SiLU
# and the second pointwise conv become one kernel (the residual adds the LayerNorm's input, so
# it stays outside). Imported from PyTorch and through 'dwmlir import' of its ONNX export;
# checked under qemu at 128 and 512 bits against torch and onnxruntime.
# REQUIRES: qemu-aarch64, aarch64-cc
# RUN: rm -rf %t && mkdir -p %t
# RUN: %PYTHON %s %t | FileCheck %s
# RUN: %dwmlir import %t/conformer.onnx -o %t/cli --check -j 2 | FileCheck %s --check-prefix=CLI

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import models  # noqa: E402

import dwmlir  # noqa: E402

tmp = Path(sys.argv[1])
model = models.randomize(models.ConformerConv(dim=64, kernel=31))
x = torch.randn(1, 50, 64)

# CHECK-LABEL: kernel
# CHECK-NEXT: conformerconv_dw depthwise_conv_1d_nwc_wc 1x50x64 dw bias, silu; pointwise 64, bias
# CHECK-NEXT: conformerconv_dw 128 ok
# CHECK-NEXT: conformerconv_dw 512 ok
# CHECK-NEXT: 2/2 layer runs match PyTorch
# CHECK-NEXT: layers: dw bn act pw2
net = dwmlir.from_torch(model, x, jobs=2)
models.report(net, "PyTorch")
print("layers:", *net.layers[0].fused)
models.export_onnx(model, x, str(tmp / "conformer.onnx"))

# CLI: conformer_dw depthwise_conv_1d_nwc_wc 1x50x64 dw bias, silu; pointwise 64, bias
# CLI: 1 kernels for aarch64-sve in
# CLI: conformer_dw 128 {{.*}} ok
# CLI-NEXT: conformer_dw 512 {{.*}} ok
# CLI-NEXT: 2/2 layer runs match onnxruntime
