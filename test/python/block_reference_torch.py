# RUN: %PYTHON %s | FileCheck %s
# The block reference against PyTorch's own layers: a depthwise Conv (groups = C, with a
# channel multiplier), BatchNorm in eval mode, ReLU6 or SiLU, a 1x1 Conv, BatchNorm and an
# activation, with BatchNorm folded into weights and biases the way a deployment does, and
# the weights moved into dwmlir's layouts (hwc / hwcm / [C*M][COUT]). torch computes in
# float64 here, so the two agree to rounding.

import numpy as np
import torch

from dwmlir.reference import block_reference
from dwmlir.spec import BlockSpec, ConvSpec, block_from_options


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def random_bn(channels: int) -> torch.nn.BatchNorm2d:
    bn = torch.nn.BatchNorm2d(channels).eval()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    return bn


def fold(conv: torch.nn.Conv2d | torch.nn.Conv1d, bn) -> tuple[np.ndarray, np.ndarray]:
    """conv then bn == conv with weight * s and bias (b - mean) * s + beta, s = gamma / sqrt(var + eps)."""
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = conv.weight * s.reshape(-1, *([1] * (conv.weight.dim() - 1)))
    b = (conv.bias if conv.bias is not None else 0) - bn.running_mean
    return w.detach().numpy(), (b * s + bn.bias).detach().numpy()


def check(name, block: BlockSpec, model, x_nchw, dw_conv, dw_bn, pw_conv, pw_bn) -> None:
    """Compare the reference of ``block`` (channels-last) with ``model`` (channels-first)."""
    c, m = block.conv.channels, block.conv.multiplier
    w_dw, b_dw = fold(dw_conv, dw_bn)  # (C*M, 1, k...), output channel c*M + m
    w_pw, b_pw = fold(pw_conv, pw_bn)  # (COUT, C*M, 1...)
    spatial = w_dw.shape[2:]
    flt = w_dw.reshape(c, m, *spatial)  # (c, m, k...)
    flt = np.moveaxis(flt, (0, 1), (-2, -1))  # (k..., c, m)
    if m == 1:
        flt = flt[..., 0]
    pw = w_pw.reshape(w_pw.shape[0], -1).T  # [C*M][COUT]
    x = np.moveaxis(x_nchw.numpy(), 1, -1)  # channels-last
    got = block_reference(block, x, flt, b_dw, pw, b_pw)
    want = np.moveaxis(model(x_nchw).detach().numpy(), 1, -1)
    err = np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))
    print(f"{name}: shape {list(got.shape)} == {list(want.shape)}, relative error < 1e-12: {err < 1e-12}")


# MobileNetV1-style: depthwise 3x3 stride 2 (torch padding=1 is SAME's 1:1 here, 8 -> 4), BN,
# ReLU6, pointwise, BN, ReLU6.
# CHECK-LABEL: TEST: test_separable_2d
# CHECK-NEXT: separable 2-D: shape [2, 4, 4, 24] == [2, 4, 4, 24], relative error < 1e-12: True
@run
def test_separable_2d():
    dw = torch.nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16, bias=False)
    pw = torch.nn.Conv2d(16, 24, 1, bias=False)
    dw_bn, pw_bn = random_bn(16), random_bn(24)
    model = torch.nn.Sequential(dw, dw_bn, torch.nn.ReLU6(), pw, pw_bn, torch.nn.ReLU6()).eval()
    conv = ConvSpec(
        "depthwise_conv_2d_nhwc_hwc", (2, 8, 8, 16), (3, 3, 16), strides=2, padding=((1, 1), (1, 1))
    )
    block = block_from_options(
        conv, True, "relu6", pointwise=24, pointwise_bias=True, pointwise_activation="relu6"
    )
    check("separable 2-D", block, model, torch.randn(2, 16, 8, 8), dw, dw_bn, pw, pw_bn)


# A channel multiplier: Conv2d(C, 2C, groups=C) gives output channel c*2 + m, as hwcm's (c, m).
# CHECK-LABEL: TEST: test_multiplier
# CHECK-NEXT: multiplier 2: shape [1, 6, 6, 10] == [1, 6, 6, 10], relative error < 1e-12: True
@run
def test_multiplier():
    dw = torch.nn.Conv2d(5, 10, 3, padding=1, groups=5, bias=True)
    pw = torch.nn.Conv2d(10, 10, 1, bias=True)
    dw_bn, pw_bn = random_bn(10), random_bn(10)
    model = torch.nn.Sequential(dw, dw_bn, torch.nn.SiLU(), pw, pw_bn).eval()
    conv = ConvSpec("depthwise_conv_2d_nhwc_hwcm", (1, 6, 6, 5), (3, 3, 5, 2), padding=((1, 1), (1, 1)))
    block = block_from_options(conv, True, "silu", pointwise=10, pointwise_bias=True)
    check("multiplier 2", block, model, torch.randn(1, 5, 6, 6), dw, dw_bn, pw, pw_bn)


# Conformer's conv module core: depthwise Conv1d K=31 'same' padding (15:15), BN, SiLU,
# pointwise, BN.
# CHECK-LABEL: TEST: test_conformer_1d
# CHECK-NEXT: conformer 1-D: shape [1, 40, 32] == [1, 40, 32], relative error < 1e-12: True
@run
def test_conformer_1d():
    dw = torch.nn.Conv1d(32, 32, 31, padding="same", groups=32, bias=False)
    pw = torch.nn.Conv1d(32, 32, 1, bias=True)
    dw_bn = torch.nn.BatchNorm1d(32).eval()
    pw_bn = torch.nn.BatchNorm1d(32).eval()
    for bn in (dw_bn, pw_bn):
        with torch.no_grad():
            bn.weight.uniform_(0.5, 1.5), bn.bias.uniform_(-0.5, 0.5)
            bn.running_mean.uniform_(-0.5, 0.5), bn.running_var.uniform_(0.5, 2.0)
    model = torch.nn.Sequential(dw, dw_bn, torch.nn.SiLU(), pw, pw_bn).eval()
    conv = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 40, 32), (31, 32), padding="same")
    block = block_from_options(conv, True, "silu", pointwise=32, pointwise_bias=True)
    check("conformer 1-D", block, model, torch.randn(1, 32, 40), dw, dw_bn, pw, pw_bn)


# Channels-first blocks take PyTorch's tensors as they are: the depthwise weight (C, 1, k, k)
# as chw, the pointwise weight (COUT, C, 1, 1) as [COUT][C], NCHW in and out; and a residual.
# CHECK-LABEL: TEST: test_channels_first
# CHECK-NEXT: channels-first: shape [1, 8, 6, 6], relative error < 1e-12: True
@run
def test_channels_first():
    dw = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=True)
    pw = torch.nn.Conv2d(8, 8, 1, bias=True)

    class Block(torch.nn.Module):
        def forward(self, x):
            return pw(torch.nn.functional.hardswish(dw(x))) + x

    x = torch.randn(1, 8, 6, 6)
    conv = ConvSpec("depthwise_conv_2d_nchw_chw", (1, 8, 6, 6), (8, 3, 3), padding=((1, 1), (1, 1)))
    block = block_from_options(conv, True, "hardswish", pointwise=8, pointwise_bias=True, residual=True)
    ops = [t.detach().numpy() for t in (dw.weight[:, 0], dw.bias, pw.weight[:, :, 0, 0], pw.bias)]
    got = block_reference(block, x.numpy(), *ops)
    want = Block()(x).detach().numpy()
    err = np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))
    print(f"channels-first: shape {list(got.shape)}, relative error < 1e-12: {err < 1e-12}")


# A residual without a pointwise conv (depthwise, BN, ReLU6, + input; RepVGG/ConvNeXt-like
# depthwise shortcuts): the input added after the activation, channels-last.
# CHECK-LABEL: TEST: test_depthwise_residual
# CHECK-NEXT: depthwise residual: shape [1, 7, 7, 12], relative error < 1e-12: True
@run
def test_depthwise_residual():
    dw = torch.nn.Conv2d(12, 12, 5, padding=2, groups=12, bias=False)
    bn = random_bn(12)
    x_nchw = torch.randn(1, 12, 7, 7)
    with torch.no_grad():
        want = (torch.nn.ReLU6()(bn(dw(x_nchw))) + x_nchw).numpy()
    w, b = fold(dw, bn)
    conv = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 7, 7, 12), (5, 5, 12), padding=((2, 2), (2, 2)))
    block = block_from_options(conv, True, "relu6", residual=True)
    got = block_reference(block, np.moveaxis(x_nchw.numpy(), 1, -1), np.moveaxis(w[:, 0], 0, -1), b)
    want = np.moveaxis(want, 1, -1)
    err = np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))
    print(f"depthwise residual: shape {list(got.shape)}, relative error < 1e-12: {err < 1e-12}")


# A bf16 inverted residual: bf16 input and weights (torch rounds to bf16 to nearest-even, as
# dwmlir's bit patterns hold them), f32 biases; torch keeps the expansion in bf16 between the
# 1x1 conv and the depthwise conv, and the rest in float64. The reference's output is the
# f32 the kernel stores: within f32 rounding of torch's.
# CHECK-LABEL: TEST: test_bf16_inverted_residual
# CHECK-NEXT: bf16 inverted residual: shape [1, 6, 6, 8], relative error < 1e-6: True
@run
def test_bf16_inverted_residual():
    from dwmlir.reference.bf16 import to_bf16

    def bf16(t: torch.Tensor) -> torch.Tensor:
        return t.to(torch.bfloat16).to(torch.float64)

    x = bf16(torch.randn(1, 8, 6, 6))
    we, wd, wp = (
        bf16(torch.randn(24, 8) * 0.4),
        bf16(torch.randn(24, 1, 3, 3)),
        bf16(torch.randn(8, 24) * 0.2),
    )
    be, bd, bp = (torch.randn(n).to(torch.float32).to(torch.float64) for n in (24, 24, 8))
    relu6 = torch.nn.functional.relu6
    with torch.no_grad():
        e = bf16(relu6(torch.einsum("nihw,oi->nohw", x, we) + be.reshape(1, -1, 1, 1)))
        d = relu6(torch.nn.functional.conv2d(e, wd, bd, padding=1, groups=24))
        want = torch.einsum("nihw,oi->nohw", d, wp) + bp.reshape(1, -1, 1, 1) + x
    conv = ConvSpec(
        "depthwise_conv_2d_nhwc_hwc", (1, 6, 6, 24), (3, 3, 24), padding=((1, 1), (1, 1)), dtype="bf16"
    )
    block = block_from_options(
        conv,
        True,
        "relu6",
        pointwise=8,
        pointwise_bias=True,
        residual=True,
        expand=8,
        expand_bias=True,
        expand_activation="relu6",
    )

    def bits(t: torch.Tensor) -> np.ndarray:
        return to_bf16(t.numpy())

    got = block_reference(
        block,
        bits(x.permute(0, 2, 3, 1)),
        bits(wd[:, 0].permute(1, 2, 0)),
        bits(we.T),  # expand_filter [CIN][C]
        be.numpy().astype(np.float32),
        bd.numpy().astype(np.float32),
        bits(wp.T),  # pw_filter [C][COUT]
        bp.numpy().astype(np.float32),
    )
    want = want.permute(0, 2, 3, 1).numpy()
    err = np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))
    print(f"bf16 inverted residual: shape {list(got.shape)}, relative error < 1e-6: {err < 1e-6}")
