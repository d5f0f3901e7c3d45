# RUN: %PYTHON %s | FileCheck %s
# REQUIRES: mlir_arm_emulator
# NaN and Inf in the input propagate through the kernels as IEEE arithmetic and the numpy
# reference say: every output whose window holds a NaN, or an Inf times a zero weight, or
# +Inf and -Inf together, is NaN; an Inf times a non-zero weight gives a signed Inf. Checked
# on a channels-last conv (register-blocked rows; C = 9 puts a channel tail at every vector
# length, whose unmasked reads pick up the poisoned next pixels in lanes never stored), the
# same with --vectorizer upstream, and a channels-first one, f32 and f16, at four SVE
# vector lengths.

import numpy as np

from dwmlir.reference import depthwise_reference, random_operands
from dwmlir.run import run_on_data
from dwmlir.spec import ConvSpec
from dwmlir.target import get_target

SVE = get_target("aarch64-sve")


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


def poison(spec: ConvSpec):
    """Random operands with a NaN, +Inf and -Inf, and an Inf under a zero weight."""
    inp, flt = random_operands(spec, seed=5)
    last = spec.info.channels_last
    at = (lambda h, w, c: (0, h, w, c)) if last else (lambda h, w, c: (0, c, h, w))
    tap = (lambda h, w, c: (h, w, c)) if last else (lambda h, w, c: (c, h, w))
    inp[at(2, 2, 0)] = np.nan
    inp[at(4, 1, 3)] = np.inf
    inp[at(1, 4, 3)] = -np.inf  # meets +Inf in some windows of channel 3: NaN there
    inp[at(3, 3, 5)] = np.inf
    flt[tap(1, 1, 5)] = 0  # the centre tap of channel 5 multiplies that Inf by zero: NaN
    return inp, flt


def census(y):
    return f"{int(np.isnan(y).sum())} NaN, {int(np.isposinf(y).sum())} +Inf, {int(np.isneginf(y).sum())} -Inf"


# CHECK-LABEL: TEST: test_nan_inf_propagate
# CHECK-NEXT: depthwise_conv_2d_nhwc_hwc f32: reference [[REF:[1-9][0-9]* NaN, [1-9][0-9]* \+Inf, [1-9][0-9]* -Inf]]
# CHECK-NEXT:   128 bits: [[REF]], ok
# CHECK-NEXT:   256 bits: [[REF]], ok
# CHECK-NEXT:   512 bits: [[REF]], ok
# CHECK-NEXT:   2048 bits: [[REF]], ok
# CHECK-NEXT: depthwise_conv_2d_nhwc_hwc f16: reference [[REF16:[1-9][0-9]* NaN, [1-9][0-9]* \+Inf, [1-9][0-9]* -Inf]]
# CHECK-NEXT:   128 bits: [[REF16]], ok
# CHECK-NEXT:   256 bits: [[REF16]], ok
# CHECK-NEXT:   512 bits: [[REF16]], ok
# CHECK-NEXT:   2048 bits: [[REF16]], ok
# CHECK-NEXT: depthwise_conv_2d_nhwc_hwc f32 upstream: reference [[REF]]
# CHECK-NEXT:   128 bits: [[REF]], ok
# CHECK-NEXT:   256 bits: [[REF]], ok
# CHECK-NEXT:   512 bits: [[REF]], ok
# CHECK-NEXT:   2048 bits: [[REF]], ok
# CHECK-NEXT: depthwise_conv_2d_nchw_chw f32: reference [[REFCF:[1-9][0-9]* NaN, [1-9][0-9]* \+Inf, [1-9][0-9]* -Inf]]
# CHECK-NEXT:   128 bits: [[REFCF]], ok
# CHECK-NEXT:   256 bits: [[REFCF]], ok
# CHECK-NEXT:   512 bits: [[REFCF]], ok
# CHECK-NEXT:   2048 bits: [[REFCF]], ok
@run
def test_nan_inf_propagate():
    for op, inp_shape, flt_shape, dtype, vectorizer in (
        ("depthwise_conv_2d_nhwc_hwc", (1, 7, 7, 9), (3, 3, 9), "f32", "dwmlir"),
        ("depthwise_conv_2d_nhwc_hwc", (1, 7, 7, 9), (3, 3, 9), "f16", "dwmlir"),
        ("depthwise_conv_2d_nhwc_hwc", (1, 7, 7, 9), (3, 3, 9), "f32", "upstream"),
        ("depthwise_conv_2d_nchw_chw", (1, 9, 7, 7), (9, 3, 3), "f32", "dwmlir"),
    ):
        spec = ConvSpec(op, inp_shape, flt_shape, dtype=dtype, padding="same")
        inp, flt = poison(spec)
        with np.errstate(invalid="ignore"):  # Inf * 0 and Inf - Inf are the point here
            want = depthwise_reference(spec, inp, flt)
        print(f"{op} {dtype}{' upstream' if vectorizer == 'upstream' else ''}: reference {census(want)}")
        for r, got in run_on_data(spec, SVE, inp, flt, (128, 256, 512, 2048), vectorizer=vectorizer):
            same = all(np.array_equal(f(got), f(want)) for f in (np.isnan, np.isposinf, np.isneginf))
            print(f"  {r.vector_bits} bits: {census(got)}, {'ok' if r.ok and same else 'WRONG'}")
