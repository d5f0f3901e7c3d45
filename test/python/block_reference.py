# RUN: %PYTHON %s | FileCheck %s
# The block reference against direct formulas: int8 requantization (ties to even,
# saturation, the zero point, the int8 activation bounds) and the float activations; that
# the random block operands reach ties and saturation; that the comparison catches errors.

import numpy as np

from dwmlir.reference import block_reference, compare_block, depthwise_reference, random_block_operands
from dwmlir.spec import Activation, BlockSpec, ConvSpec, Epilogue


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


def one_tap_q(**epi) -> BlockSpec:
    """A 1x1 quantized conv on 4 channels: the accumulator is input * filter, per channel."""
    conv = ConvSpec("depthwise_conv_2d_nhwc_hwc_q", (1, 1, 4, 4), (1, 1, 4), dtype="i8")
    return BlockSpec(conv, Epilogue(requantize=True, **epi))


# acc = x * w; scale 0.5 makes every odd accumulator a tie: 5 * 0.5 = 2.5 -> 2,
# 7 * 0.5 = 3.5 -> 4, -5 * 0.5 = -2.5 -> -2, -7 * 0.5 = -3.5 -> -4; then + zp = 1, and
# 127 * 127 * 0.5 = 8064.5 saturates to 127, -127 * 127 * 0.5 to -128.
# CHECK-LABEL: TEST: test_requantize_ties_and_saturation
# CHECK-NEXT: [3, 5, -1, -3]
# CHECK-NEXT: [127, -128, 1, 1]
@run
def test_requantize_ties_and_saturation():
    block = one_tap_q(output_zp=1)
    inp = np.array([[[[5, 7, -5, -7], [127, -127, 0, 1]]]], dtype=np.int8).reshape(1, 1, 2, 4)
    inp = np.concatenate([inp, np.zeros((1, 1, 2, 4), np.int8)], axis=2)
    flt = np.array([[[1, 1, 1, 1]]], dtype=np.int8)
    flt2 = np.array([[[127, 127, 1, 1]]], dtype=np.int8)
    scale = np.full(4, 0.5, np.float32)
    out = block_reference(block, inp, flt, scale)[0, 0]
    print(out[0].tolist())
    inp2 = np.zeros_like(inp)
    inp2[0, 0, 0] = [127, -127, 0, 1]
    print(block_reference(block, inp2, flt2, scale)[0, 0, 0].tolist())


# The int32 bias is added before the scale (and wraps): (10 + 6) * 0.25 = 4 -> 4 + zp.
# relu clamps at the zero point, relu6 at zp + round(6 / output_scale) = -17, clamp at its
# bounds.
# CHECK-LABEL: TEST: test_bias_and_int8_activations
# acc + bias = [16, -20, -60, 100], * 0.25 = [4, -5, -15, 25], + zp = [-16, -25, -35, 5].
# CHECK-NEXT: relu [-16, -20, -20, 5]
# CHECK-NEXT: relu6 [-17, -20, -20, -17]
# CHECK-NEXT: clamp:-30:-10 [-16, -25, -30, -10]
@run
def test_bias_and_int8_activations():
    inp = np.zeros((1, 1, 4, 4), np.int8)
    inp[0, 0, 0] = [10, 20, -60, 100]
    flt = np.ones((1, 1, 4), np.int8)
    bias = np.array([6, -40, 0, 0], np.int32)
    scale = np.array([0.25, 0.25, 0.25, 0.25], np.float32)
    for act, extra in (("relu", {}), ("relu6", {"output_scale": 2.0}), ("clamp:-30:-10", {})):
        block = BlockSpec(
            one_tap_q().conv,
            Epilogue(bias=True, requantize=True, output_zp=-20, activation=Activation.parse(act), **extra),
        )
        print(act, block_reference(block, inp, flt, bias, scale)[0, 0, 0].tolist())


# Float activations against their definitions (torch's): relu6 clips at 0 and 6, silu is
# x * sigmoid(x), hardswish x * relu6(x + 3) / 6.
# CHECK-LABEL: TEST: test_float_activations
# CHECK-NEXT: relu6 [0.0, 0.5, 6.0]
# silu(-1) = -1 / (1 + e) = -0.268941; silu(8) = 8 / (1 + e^-8) = 7.997317.
# hardswish(-1) = -1 * 2 / 6; hardswish(0.5) = 0.5 * 3.5 / 6 = 0.291667; hardswish(8) = 8.
# CHECK-NEXT: silu [-0.268941, 0.311230, 7.997317]
# CHECK-NEXT: hardswish [-0.333333, 0.291667, 8.000000]
@run
def test_float_activations():
    conv = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 1, 3), (1, 3))
    inp = np.array([[[-1.0, 0.5, 8.0]]], np.float32)
    flt = np.ones((1, 3), np.float32)
    for act in ("relu6", "silu", "hardswish"):
        out = block_reference(BlockSpec(conv, Epilogue(activation=Activation.parse(act))), inp, flt)
        print(act, "[" + ", ".join(f"{v:.6f}" if act != "relu6" else f"{v}" for v in out[0, 0]) + "]")


# The random operands of a requantized block reach both rounding ties and saturation.
# CHECK-LABEL: TEST: test_random_operands_reach_ties_and_saturation
# CHECK-NEXT: ties True saturated True
@run
def test_random_operands_reach_ties_and_saturation():
    conv = ConvSpec("depthwise_conv_2d_nhwc_hwc_q", (1, 9, 9, 37), (3, 3, 37), dtype="i8", padding="same")
    block = BlockSpec(conv, Epilogue(bias=True, requantize=True))
    inp, flt, bias, scale = random_block_operands(block, 0)
    acc = depthwise_reference(conv, inp, flt).astype(np.int64) + bias
    y = acc.astype(np.float32) * scale
    ties = bool(np.any(np.abs(y - np.floor(y)) == 0.5))
    out = block_reference(block, inp, flt, bias, scale)
    print("ties", ties, "saturated", bool(np.any(out == 127) and np.any(out == -128)))


# One wrong int8 output, and one float output off by more than the tolerance, are caught.
# CHECK-LABEL: TEST: test_compare_block_catches
# CHECK-NEXT: int8 False 1
# CHECK-NEXT: float False 1
@run
def test_compare_block_catches():
    block = one_tap_q()
    ops = random_block_operands(block, 1)
    want = block_reference(block, *ops)
    got = want.copy()
    got.flat[3] += 1
    cmp = compare_block(block, got, want, ops)
    print("int8", cmp.ok, cmp.mismatches)
    conv = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 8, 4), (3, 4))
    fblock = BlockSpec(conv, Epilogue(bias=True, activation=Activation.parse("silu")))
    ops = random_block_operands(fblock, 2)
    want = block_reference(fblock, *ops)
    got = want.astype(np.float32)
    got.flat[5] += 1e-3
    cmp = compare_block(fblock, got, want, ops)
    print("float", cmp.ok, cmp.mismatches)
