# RUN: %PYTHON %s | FileCheck %s
# The numpy reference against hand-computed values, and the comparison catching errors.

import numpy as np

from dwmlir.reference import compare, depthwise_reference, random_operands
from dwmlir.spec import ConvSpec


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


# in[w, c] = w + 10c, filter taps (1, 2) on c0 and (3, -1) on c1, stride 2, dilation 2:
# out[w, c] = f0 * in[2w, c] + f1 * in[2w + 2, c]
# c0: w=0: 1*0 + 2*2 = 4;  w=1: 1*2 + 2*4 = 10
# c1: w=0: 3*10 - 12 = 18; w=1: 3*12 - 14 = 22
# CHECK-LABEL: TEST: test_hand_computed
# CHECK-NEXT: {{\[\[}}4, 18], [10, 22]]
@run
def test_hand_computed():
    spec = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 5, 2), (2, 2), (2,), (2,), "i32")
    inp = np.array([[[w + 10 * c for c in range(2)] for w in range(5)]], dtype=np.int32)
    flt = np.array([[1, 3], [2, -1]], dtype=np.int32)
    print(depthwise_reference(spec, inp, flt)[0].tolist())


# i32 arithmetic wraps like the kernel's: 65536 * 65536 * 2 taps = 2^33 -> 0.
# CHECK-LABEL: TEST: test_i32_wraps
# CHECK-NEXT: [0]
@run
def test_i32_wraps():
    spec = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 2, 1), (2, 1), dtype="i32")
    inp = np.full((1, 2, 1), 65536, dtype=np.int32)
    print(depthwise_reference(spec, inp, inp[0])[0, :, 0].tolist())


# CHECK-LABEL: TEST: test_compare_catches
# CHECK-NEXT: exact True bad 0
# CHECK-NEXT: one-ulp-ish True
# CHECK-NEXT: perturbed False bad 1
# CHECK-NEXT: poisoned False
# CHECK-NEXT: int-off-by-one False bad 1
@run
def test_compare_catches():
    spec = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 30, 13), (5, 13))
    inp, flt = random_operands(spec, 1)
    want = depthwise_reference(spec, inp, flt).astype(np.float32)
    c = compare(spec, want, want, inp, flt)
    print("exact", c.ok, "bad", c.mismatches)
    print("one-ulp-ish", compare(spec, np.nextafter(want, np.float32(np.inf)), want, inp, flt).ok)
    got = want.copy()
    got[0, 3, 7] += 1e-3
    c = compare(spec, got, want, inp, flt)
    print("perturbed", c.ok, "bad", c.mismatches)
    poison = np.frombuffer(b"\x7f" * want.nbytes, dtype=np.float32).reshape(want.shape)
    print("poisoned", compare(spec, poison, want, inp, flt).ok)
    ispec = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 30, 13), (5, 13), dtype="i32")
    iinp, iflt = random_operands(ispec, 2)
    iwant = depthwise_reference(ispec, iinp, iflt)
    igot = iwant.copy()
    igot[0, 0, 0] += 1
    c = compare(ispec, igot, iwant, iinp, iflt)
    print("int-off-by-one", c.ok, "bad", c.mismatches)
