# How torch layers map onto dwmlir kernels, exactly: torch's symmetric int padding (not TF's
# 'same'), padding='same' with an even kernel (the extra column at the high end), 'valid',
# strides, dilations, a channel multiplier (out_channels = 2 * in_channels, hwcm), Hardtanh as
# clamp, functional relu, BatchNorm with and without a conv bias, a separable block with its
# residual add fused, a depthwise layer with its own (no 1x1 conv), Conv1d and Conv3d. Each
# kernel runs under qemu at 128 and 512 bits against torch, and again from the ONNX export
# against onnxruntime.
# REQUIRES: qemu-aarch64, aarch64-cc
# RUN: rm -rf %t && mkdir -p %t
# RUN: %PYTHON %s %t | FileCheck %s

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent / "Inputs"))
import models  # noqa: E402

import dwmlir  # noqa: E402

tmp = Path(sys.argv[1])


class Net2d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=8)
        self.clamp = nn.Hardtanh(-1.0, 2.0)
        self.b = nn.Conv2d(16, 16, 4, padding="same", groups=16, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.c = nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=16)
        self.c_bn = nn.BatchNorm2d(16)
        self.pw = nn.Conv2d(16, 16, 1)
        self.pw_bn = nn.BatchNorm2d(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.relu(self.bn(self.b(self.clamp(self.a(x)))))
        return y + self.pw_bn(self.pw(nn.functional.relu6(self.c_bn(self.c(y)))))


class Net1d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv1d(12, 36, 5, dilation=3, groups=12)  # valid, multiplier 3
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.a(x))


class Net3d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv3d(8, 8, 3, stride=(1, 2, 2), padding=1, groups=8, bias=False)
        self.bn = nn.BatchNorm3d(8)
        self.act = nn.Hardswish()
        self.pw = nn.Conv3d(8, 12, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.act(self.bn(self.a(x))))


class NetRes(nn.Module):
    """A depthwise layer whose input is added to its output, no 1x1 conv (a depthwise
    shortcut); the second layer's add takes the first's output, not its own input."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(12, 12, 5, padding=2, groups=12, bias=False)
        self.bn = nn.BatchNorm2d(12)
        self.b = nn.Conv2d(12, 12, 3, padding=1, groups=12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.relu6(self.bn(self.a(x))) + x
        return self.b(y) + x


def show(net) -> None:
    for layer in net.layers:
        print(layer.kernel, "<-", ", ".join(layer.fused))
        print("  ", layer.block.describe().replace(layer.block.conv.op + " ", ""))


# CHECK-LABEL: net2d
# CHECK-NEXT: net2d_a <- a, clamp
# CHECK-NEXT: f32 input 1x13x13x8 (nhwc) filter 3x3x8x2 (hwcm) output 1x7x7x8x2 (nhwcm) strides 2,2 dilations 1,1 padding 1:1,1:1 then bias, clamp:-1:2
# CHECK-NEXT: net2d_b <- b, bn, relu
# CHECK-NEXT: f32 input 1x7x7x16 (nhwc) filter 4x4x16 (hwc) output 1x7x7x16 (nhwc) strides 1,1 dilations 1,1 padding 1:2,1:2 then bias, relu
# CHECK-NEXT: net2d_c <- c, c_bn, relu6, pw, pw_bn, add
# CHECK-NEXT: f32 input 1x7x7x16 (nhwc) filter 3x3x16 (hwc) output 1x7x7x16 (nhwc) strides 1,1 dilations 2,2 padding 2:2,2:2 then bias, relu6; pointwise 16, bias, residual
# CHECK: 6/6 layer runs match PyTorch
for cls, shape in (
    (Net2d, (1, 8, 13, 13)),
    (Net1d, (2, 12, 40)),
    (Net3d, (1, 8, 5, 6, 7)),
    (NetRes, (1, 12, 9, 10)),
):
    model = models.randomize(cls())
    x = torch.randn(*shape)
    print(cls.__name__.lower())
    net = dwmlir.from_torch(model, x, jobs=2)
    show(net)
    models.report(net, "PyTorch")
    # The returned model is callable: each layer's output for another input, in torch's layout.
    x2 = torch.randn(*shape)
    outs = net(x2, vector_bits=256)
    print("call:", *(f"{k} {tuple(v.shape)}" for k, v in outs.items()))
    models.export_onnx(model, x, str(tmp / f"{cls.__name__}.onnx"))
    onnx_net = dwmlir.import_onnx(tmp / f"{cls.__name__}.onnx", name=cls.__name__.lower(), jobs=2)
    models.report(onnx_net, "onnxruntime")
    if cls is Net2d:
        torch.set_grad_enabled(False)
        # The same call through the torch module's own layers: the residual block's output.
        want = model.pw_bn(
            model.pw(
                nn.functional.relu6(
                    model.c_bn(model.c(nn.functional.relu(model.bn(model.b(model.clamp(model.a(x2)))))))
                )
            )
        ) + nn.functional.relu(model.bn(model.b(model.clamp(model.a(x2)))))
        print("residual block vs torch:", float((torch.from_numpy(outs["c"]) - want).abs().max()) < 1e-4)

# CHECK: call: a (1, 16, 7, 7) b (1, 16, 7, 7) c (1, 16, 7, 7)
# CHECK: 6/6 layer runs match onnxruntime
# CHECK: residual block vs torch: True

# CHECK-LABEL: net1d
# CHECK-NEXT: net1d_a <- a, act
# CHECK-NEXT: f32 input 2x40x12 (nwc) filter 5x12x3 (wcm) output 2x28x12x3 (nwcm) strides 1 dilations 3 then bias, silu
# CHECK: 2/2 layer runs match PyTorch
# CHECK: call: a (2, 36, 28)
# CHECK: 2/2 layer runs match onnxruntime

# CHECK-LABEL: net3d
# CHECK-NEXT: net3d_a <- a, bn, act, pw
# CHECK-NEXT: f32 input 1x5x6x7x8 (ndhwc) filter 3x3x3x8 (dhwc) output 1x5x3x4x8 (ndhwc) strides 1,2,2 dilations 1,1,1 padding 1:1,1:1,1:1 then bias, hardswish; pointwise 12
# CHECK: 2/2 layer runs match PyTorch
# CHECK: call: a (1, 12, 5, 3, 4)
# CHECK: net3d_a depthwise_conv_3d_ndhwc_dhwc 1x5x3x4x12 dw bias, hardswish; pointwise 12
# CHECK: 2/2 layer runs match onnxruntime

# A depthwise-only residual: the add of the layer's own input is fused, an add of another
# layer's input is not.
# CHECK-LABEL: netres
# CHECK-NEXT: netres_a <- a, bn, relu6, add
# CHECK-NEXT: f32 input 1x9x10x12 (nhwc) filter 5x5x12 (hwc) output 1x9x10x12 (nhwc) strides 1,1 dilations 1,1 padding 2:2,2:2 then bias, relu6; residual
# CHECK-NEXT: netres_b <- b
# CHECK: netres_a  depthwise_conv_2d_nhwc_hwc  1x9x10x12  dw bias, relu6; residual
# CHECK: 4/4 layer runs match PyTorch
# CHECK: 4/4 layer runs match onnxruntime
