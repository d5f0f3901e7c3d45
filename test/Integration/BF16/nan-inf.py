# RUN: %PYTHON %s | FileCheck %s
# REQUIRES: mlir_arm_emulator
# bf16 kernels and NaN, Inf and overflow: NaN and Inf in the input propagate as IEEE
# arithmetic and the reference say (bfmlalb is a fused f32 multiply-add); a finite f32 sum
# past the largest bf16 rounds to infinity on a bf16 output and stays finite on an f32 one.
# Channels-last (register-blocked rows, a channel tail at every vector length) and
# channels-first, both output types, at 128 and 2048 bits.

import numpy as np

from dwmlir.reference import block_reference, random_operands
from dwmlir.reference.bf16 import from_bf16, to_bf16
from dwmlir.run import run_on_data
from dwmlir.spec import ConvSpec
from dwmlir.target import get_target

SVE = get_target("aarch64-sve")


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


def values(spec: ConvSpec, y: np.ndarray) -> np.ndarray:
    return from_bf16(y) if spec.out_dtype == "bf16" and y.dtype == np.uint16 else y


def census(y):
    return f"{int(np.isnan(y).sum())} NaN, {int(np.isposinf(y).sum())} +Inf, {int(np.isneginf(y).sum())} -Inf"


# CHECK-LABEL: TEST: test_nan_inf_propagate
# CHECK-NEXT: depthwise_conv_2d_nhwc_hwc f32: reference [[REF:[1-9][0-9]* NaN, [1-9][0-9]* \+Inf, [1-9][0-9]* -Inf]]
# CHECK-NEXT:   128 bits: [[REF]], ok
# CHECK-NEXT:   2048 bits: [[REF]], ok
# CHECK-NEXT: depthwise_conv_2d_nhwc_hwc bf16: reference [[REF]]
# CHECK-NEXT:   128 bits: [[REF]], ok
# CHECK-NEXT:   2048 bits: [[REF]], ok
# CHECK-NEXT: depthwise_conv_2d_nchw_chw f32: reference [[REFCF:[1-9][0-9]* NaN, [1-9][0-9]* \+Inf, [1-9][0-9]* -Inf]]
# CHECK-NEXT:   128 bits: [[REFCF]], ok
# CHECK-NEXT:   2048 bits: [[REFCF]], ok
# CHECK-NEXT: depthwise_conv_2d_nchw_chw bf16: reference [[REFCF]]
# CHECK-NEXT:   128 bits: [[REFCF]], ok
# CHECK-NEXT:   2048 bits: [[REFCF]], ok
@run
def test_nan_inf_propagate():
    for op, inp_shape, flt_shape in (
        ("depthwise_conv_2d_nhwc_hwc", (1, 7, 7, 9), (3, 3, 9)),
        ("depthwise_conv_2d_nchw_chw", (1, 9, 7, 7), (9, 3, 3)),
    ):
        for out in ("f32", "bf16"):
            spec = ConvSpec(op, inp_shape, flt_shape, dtype="bf16", out_dtype=out, padding="same")
            inp, flt = random_operands(spec, seed=5)
            last = spec.info.channels_last
            at = (lambda h, w, c: (0, h, w, c)) if last else (lambda h, w, c: (0, c, h, w))
            tap = (lambda h, w, c: (h, w, c)) if last else (lambda h, w, c: (c, h, w))
            nan, pinf, ninf, zero = to_bf16(np.array([np.nan, np.inf, -np.inf, 0.0]))
            inp[at(2, 2, 0)] = nan
            inp[at(4, 1, 3)] = pinf
            inp[at(1, 4, 3)] = ninf  # meets +Inf in some windows of channel 3: NaN there
            inp[at(3, 3, 5)] = pinf
            flt[tap(1, 1, 5)] = zero  # the centre tap of channel 5 times that Inf: NaN
            with np.errstate(invalid="ignore"):
                want = block_reference(spec, inp, flt)
            print(f"{op} {out}: reference {census(want)}")
            for r, got in run_on_data(spec, SVE, inp, flt, (128, 2048)):
                y = values(spec, got)
                same = all(np.array_equal(f(y), f(want)) for f in (np.isnan, np.isposinf, np.isneginf))
                print(f"  {r.vector_bits} bits: {census(y)}, {'ok' if r.ok and same else 'MISMATCH'}")


# Overflow. Channel 0: 2^127 + 255 * 2^119 = 511 * 2^119, finite in f32 and exactly halfway
# between the largest bf16 (255 * 2^120) and 2^128: a bf16 output rounds the tie to the even
# neighbour, infinity; channel 1 the same negated; channel 2: 2^127 + 2^127 overflows the f32
# accumulator itself; channel 3: 1 + 1.
# CHECK-LABEL: TEST: test_overflow_to_inf
# CHECK-NEXT: f32: reference [3.3961775e+38, -3.3961775e+38, inf, 2.0]
# CHECK-NEXT:   128 bits: [3.3961775e+38, -3.3961775e+38, inf, 2.0] ok
# CHECK-NEXT:   512 bits: [3.3961775e+38, -3.3961775e+38, inf, 2.0] ok
# CHECK-NEXT: bf16: reference [inf, -inf, inf, 2.0]
# CHECK-NEXT:   128 bits: [inf, -inf, inf, 2.0] ok
# CHECK-NEXT:   512 bits: [inf, -inf, inf, 2.0] ok
@run
def test_overflow_to_inf():
    big, below = 2.0**127, 255 * 2.0**119
    for out in ("f32", "bf16"):
        spec = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 2, 4), (2, 4), dtype="bf16", out_dtype=out)
        inp = to_bf16(np.array([[[big, -big, big, 1.0], [below, -below, big, 1.0]]]))
        flt = to_bf16(np.ones((2, 4)))
        with np.errstate(over="ignore"):
            want = block_reference(spec, inp, flt)
        show = lambda y: [float(f"{v:.8g}") for v in np.asarray(y, dtype=np.float64)[0, 0]]  # noqa: E731
        print(f"{out}: reference {show(want)}")
        for r, got in run_on_data(spec, SVE, inp, flt, (128, 512)):
            print(f"  {r.vector_bits} bits: {show(values(spec, got))} {'ok' if r.ok else 'MISMATCH'}")
