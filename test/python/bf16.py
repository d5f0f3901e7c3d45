# RUN: %PYTHON %s | FileCheck %s
# The bf16 helpers of the reference, against bit patterns worked out by hand from the
# format (sign, 8 exponent bits, 7 mantissa bits), and the bf16 comparison catching a
# kernel that truncates instead of rounding to nearest-even.

import numpy as np

import dwmlir
from dwmlir.reference import block_reference, compare_block
from dwmlir.reference.bf16 import from_bf16, round_bf16, to_bf16
from dwmlir.spec import ConvSpec


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


def bits(values) -> list[str]:
    return [f"{int(b):04x}" for b in to_bf16(np.array(values, dtype=np.float64))]


# 1.0 = 0x3f80; 1 + 2^-7 = 0x3f81 is the next bf16. Halfway, 1 + 2^-8, ties to the even 0x3f80;
# 1 + 3 * 2^-8 (halfway between 0x3f81 and 0x3f82) ties to the even 0x3f82; just above a tie
# rounds up; negative values round the same way on the magnitude.
# CHECK-LABEL: TEST: test_ties_to_even
# CHECK-NEXT: ['3f80', '3f81', '3f80', '3f82', '3f81', 'bf80', 'bf82']
@run
def test_ties_to_even():
    print(
        bits([1.0, 1 + 2**-7, 1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20, -(1 + 2**-8), -(1 + 3 * 2**-8)])
    )


# The largest bf16 is 0x7f7f (3.3895e38); float32's largest rounds up to infinity (0x7f80), as
# does anything past the f32 range; a value just under the halfway point stays finite.
# CHECK-LABEL: TEST: test_overflow_to_inf
# CHECK-NEXT: ['7f7f', '7f80', '7f80', 'ff80', '7f7f']
@run
def test_overflow_to_inf():
    big = float(from_bf16(np.array([0x7F7F], dtype=np.uint16))[0])
    f32max = float(np.finfo(np.float32).max)
    print(bits([big, f32max, 1e39, -1e39, big + 2.0**103]))


# NaN stays NaN (quiet, sign kept), infinities and signed zeros are exact, subnormals round.
# CHECK-LABEL: TEST: test_nan_inf_zero
# CHECK-NEXT: ['7fc0', 'ffc0', '7f80', 'ff80', '0000', '8000', '0001']
# CHECK-NEXT: nan nan True
@run
def test_nan_inf_zero():
    print(bits([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 2.0**-133]))
    sig = np.array([0x7FA0_0000], dtype=np.uint32).view(np.float32)  # a signalling NaN
    out = to_bf16(sig)
    print(from_bf16(out)[0], round_bf16(np.array([np.nan]))[0], bool(out[0] & 0x0040))


# Widening is exact and the round trip is the identity on every bf16 that is not a NaN.
# CHECK-LABEL: TEST: test_round_trip
# CHECK-NEXT: 65282 True
@run
def test_round_trip():
    every = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    finite = every[~np.isnan(from_bf16(every))]
    print(finite.size, bool(np.array_equal(to_bf16(from_bf16(finite)), finite)))


# The reference of a bf16 conv: operands as bits or as values (rounded first), an exact f32
# sum, and with out_dtype bf16 the sum rounded to nearest-even.
# 1.00390625 is 1 + 2^-8: as an operand it rounds to 1.0 (tie to even).
# CHECK-LABEL: TEST: test_reference
# CHECK-NEXT: [2.0, 3.0]
# CHECK-NEXT: [2.0, 3.0]
# CHECK-NEXT: [1.0078125, 1.0]
@run
def test_reference():
    spec = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 3, 1), (2, 1), dtype="bf16")
    x, w = np.array([[[1.0], [1.00390625], [2.0]]]), np.array([[1.0], [1.0]])
    print(dwmlir.reference(spec, x, w)[0, :, 0].tolist())
    print(block_reference(spec, to_bf16(x), to_bf16(w))[0, :, 0].tolist())
    # 1 + 2^-7 + 2^-9 (a sum of two exact products) rounds to 1 + 2^-7; 1 + 2^-9 rounds to 1.
    out = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 3, 1), (2, 1), dtype="bf16", out_dtype="bf16")
    x2 = np.array([[[1 + 2**-7], [2**-9], [1.0]]])
    w2 = np.array([[1.0], [1.0]])
    x2_bits = to_bf16(x2)
    x2_bits[0, 2, 0] = to_bf16(np.array([1.0]))[0]
    print(block_reference(out, x2_bits, to_bf16(w2))[0, :, 0].tolist())


# A bf16 output is compared as "what some f32 sum within the bound rounds to": the kernel's
# nearest-even bits pass; truncated bits (rounding toward zero) are caught on outputs that
# are clearly above a halfway point; f32 bits passed off as bf16 are caught everywhere.
# CHECK-LABEL: TEST: test_compare_catches_truncation
# CHECK-NEXT: rne True 0
# CHECK-NEXT: truncated False
# CHECK-NEXT: f32-out-dtype False
@run
def test_compare_catches_truncation():
    spec = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 9, 9, 16), (3, 3, 16), dtype="bf16", out_dtype="bf16")
    x, w = dwmlir.random_operands(spec, seed=3)
    exact = block_reference(ConvSpec(spec.op, spec.input_shape, spec.filter_shape, dtype="bf16"), x, w)
    f32 = exact.astype(np.float32)
    rne = to_bf16(f32)
    cmp = compare_block(spec, rne, block_reference(spec, x, w), [x, w])
    print("rne", cmp.ok, cmp.mismatches)
    truncated = (f32.view(np.uint32) >> 16).astype(np.uint16)
    print("truncated", compare_block(spec, truncated, block_reference(spec, x, w), [x, w]).ok)
    low = (f32.view(np.uint32) & 0xFFFF).astype(np.uint16)
    print("f32-out-dtype", compare_block(spec, low, block_reference(spec, x, w), [x, w]).ok)


# The Python API takes out_dtype as a field; float operands are rounded to bf16.
# CHECK-LABEL: TEST: test_api_fields
# CHECK-NEXT: depthwise_conv_1d_nwc_wc bf16 input 1x6x4 (nwc) filter 3x4 (wc) output 1x4x4 (nwc) strides 1 dilations 1 output bf16
# CHECK-NEXT: acc f32 out bf16 uint16
# CHECK-NEXT: UserError: --out-dtype bf16 applies to bf16 convs
@run
def test_api_fields():
    spec = dwmlir.ConvSpec("depthwise_conv_1d_nwc_wc", (1, 6, 4), (3, 4), dtype="bf16", out_dtype="bf16")
    print(spec.describe())
    print("acc", spec.acc_dtype, "out", spec.out_dtype, spec.out_np_dtype)
    try:
        dwmlir.ConvSpec("depthwise_conv_1d_nwc_wc", (1, 6, 4), (3, 4), out_dtype="bf16")
    except dwmlir.UserError as exc:
        print("UserError:", str(exc)[:49])


# The fuzzer draws bf16 for the non-quantized ops, with both output types and epilogues, and
# only on SVE targets (NEON and host refuse bf16); with only fixed-width targets it draws none.
# CHECK-LABEL: TEST: test_fuzz_draws
# CHECK-NEXT: bf16 cases True, outputs ['bf16', 'f32'], epilogues True, quantized False, non-SVE targets []
# CHECK-NEXT: bf16 on neon/host only: 0
@run
def test_fuzz_draws():
    from dwmlir.fuzz import fuzz_cases
    from dwmlir.fuzz.strategies import examples

    def draw(strategy, n):
        return examples(strategy, n, seed=14)

    cases = [c for c in draw(fuzz_cases(), 400) if c.spec.conv.dtype == "bf16"]
    print(
        f"bf16 cases {len(cases) > 20}, outputs {sorted({c.spec.conv.out_dtype for c in cases})},",
        f"epilogues {any(not c.spec.epilogue.empty for c in cases)},",
        f"quantized {any(c.spec.conv.info.quantized for c in cases)},",
        f"non-SVE targets {sorted({c.target for c in cases if c.target in ('aarch64-neon', 'host')})}",
    )
    fixed = draw(fuzz_cases(targets=("aarch64-neon", "host")), 100)
    print("bf16 on neon/host only:", sum(c.spec.conv.dtype == "bf16" for c in fixed))
