# RUN: %PYTHON %s | FileCheck %s
# The fuzzing strategies draw only valid, small specs covering every supported op and
# element type; spec_to_cli round-trips through the `dwmlir run` parser; the driver is
# reproducible and shrinks planted failures (with a fake check, no compilation).

import glob
import itertools
import math
import os
import re
import shlex
import tempfile
import time
from dataclasses import replace

import dwmlir.fuzz.driver as driver
from dwmlir.artefact.header import expand_plan
from dwmlir.cli.main import build_parser, spec_from_args
from dwmlir.errors import ToolError
from dwmlir.fuzz import conv_specs, fuzz, fuzz_cases, op_dtype_pairs, spec_to_cli, vector_lengths
from dwmlir.fuzz.strategies import DEFAULT_MAX_ELEMENTS, SPECIAL_CHANNELS, WIDE_CHANNELS, examples
from dwmlir.run import VALID_VECTOR_BITS
from dwmlir.spec import SUPPORTED_OPS, ConvSpec, as_block
from dwmlir.spec.conv import SUPPORTED_DTYPES
from dwmlir.target import get_target

NWC = "depthwise_conv_1d_nwc_wc"


def run(f):
    print("\nTEST:", f.__name__)
    f()
    return f


draw = examples  # n examples of a strategy, the same ones every time


SPECS = draw(conv_specs(), n=1200, seed=1)  # hypothesis favours some ops early on: 1200 cover all pairs
PADDED = draw(conv_specs(padding=True), n=300, seed=1)
ZERO_POINTS = draw(conv_specs(dtypes=["i8"], zero_points=True), n=100, seed=2)
CASES = draw(fuzz_cases(), n=300, seed=3)


def problems(spec):
    """Every way a drawn spec breaks the strategy's contract (empty when it is fine)."""
    bad = []
    if replace(spec) != spec:  # re-runs ConvSpec's validation
        bad.append("not stable under re-validation")
    if not 1 <= spec.batch <= 2:
        bad.append(f"batch {spec.batch}")
    if not 1 <= spec.channels <= 70:
        bad.append(f"channels {spec.channels}")
    if not 1 <= spec.multiplier <= 3:
        bad.append(f"multiplier {spec.multiplier}")
    if not all(1 <= k <= 5 for k in spec.kernel):
        bad.append(f"kernel {spec.kernel}")
    if not all(1 <= s <= 3 for s in spec.strides) or not all(1 <= d <= 3 for d in spec.dilations):
        bad.append(f"strides {spec.strides} dilations {spec.dilations}")
    spans = [d * (k - 1) + 1 for k, d in zip(spec.kernel, spec.dilations, strict=True)]
    padded = spec.padded_spatial
    if any(p < s for p, s in zip(padded, spans, strict=True)):
        bad.append(f"input {padded} smaller than kernel span {spans}")
    floor = spec.batch * spec.channels * spec.multiplier
    if math.prod(spec.output_shape) > max(DEFAULT_MAX_ELEMENTS, floor):
        bad.append(f"output {spec.output_shape} too large")
    return bad


# CHECK-LABEL: TEST: test_specs_are_valid_and_small
# CHECK-NEXT: 1200 specs, 0 with problems
# CHECK-NEXT: 300 padded specs, 0 with problems
# CHECK-NEXT: 100 zero-point specs, 0 with problems
@run
def test_specs_are_valid_and_small():
    for what, specs in (("specs", SPECS), ("padded specs", PADDED), ("zero-point specs", ZERO_POINTS)):
        bad = [(s.describe(), problems(s)) for s in specs if problems(s)]
        print(len(specs), what + ",", len(bad), "with problems")
        for b in bad[:5]:
            print("  ", *b)


# CHECK-LABEL: TEST: test_coverage
# CHECK-NEXT: ops missing: []
# CHECK-NEXT: dtypes missing: []
# CHECK-NEXT: op/dtype pairs missing: []
# CHECK-NEXT: channel 1: True, lane-boundary channels: True, specs with C > 64: True
# CHECK-NEXT: strides > 1: True, dilations > 1: True, kernel 5: True, batch 2: True
# CHECK-NEXT: layer windows (3 taps, dilation 1, one stride of 1 or 2): True, unpadded stride-1 2-D f32 ones: True
# CHECK-NEXT: padded specs with padding: True, quantized specs with zero points: True
# CHECK-NEXT: vector lengths: [128, 256, 512, 1024, 2048]
# CHECK-NEXT: targets: ['aarch64-neon', 'aarch64-sve', 'aarch64-sve-vls', 'aarch64-sve2', 'host']
# CHECK-NEXT: VLS runs at its own vector length: True, fixed width without one: True
@run
def test_coverage():
    print("ops missing:", sorted(set(SUPPORTED_OPS) - {s.op for s in SPECS}))
    print("dtypes missing:", sorted(set(SUPPORTED_DTYPES) - {s.dtype for s in SPECS}))
    print("op/dtype pairs missing:", sorted(set(op_dtype_pairs()) - {(s.op, s.dtype) for s in SPECS}))
    chans = {s.channels for s in SPECS}
    print(
        f"channel 1: {1 in chans}, lane-boundary channels: {len(chans & set(SPECIAL_CHANNELS)) >= 10}, "
        f"specs with C > 64: {max(chans) > 64}"
    )
    print(
        f"strides > 1: {any(max(s.strides) > 1 for s in SPECS)}, "
        f"dilations > 1: {any(max(s.dilations) > 1 for s in SPECS)}, "
        f"kernel 5: {any(5 in s.kernel for s in SPECS)}, batch 2: {any(s.batch == 2 for s in SPECS)}"
    )
    layers = [
        s for s in SPECS if set(s.kernel) == {3} and set(s.dilations) == {1} and len(set(s.strides)) == 1
    ]
    print(
        f"layer windows (3 taps, dilation 1, one stride of 1 or 2): {len(layers) > len(SPECS) // 5}, "
        f"unpadded stride-1 2-D f32 ones: {any(s.op == 'depthwise_conv_2d_nhwc_hwc' and s.dtype == 'f32' and not s.has_padding and s.strides == (1, 1) for s in layers)}"
    )
    print(
        f"padded specs with padding: {any(s.has_padding for s in PADDED)}, "
        f"quantized specs with zero points: {any(s.input_zp and s.filter_zp for s in ZERO_POINTS)}"
    )
    print("vector lengths:", sorted(set(draw(vector_lengths(), n=100))))
    print("targets:", sorted({re.sub(r"vls[0-9]+$", "vls", c.target) for c in CASES}))
    vls = [c for c in CASES if "vls" in c.target]
    fixed = [c for c in CASES if c.target in ("aarch64-neon", "host")]
    print(
        f"VLS runs at its own vector length: {all(c.target.endswith(str(c.vector_bits)) for c in vls)}, "
        f"fixed width without one: {all(c.vector_bits is None for c in fixed)}"
    )


def parse_back(command):
    argv = shlex.split(command)
    assert argv[:2] == ["dwmlir", "run"], argv
    args = build_parser().parse_args(argv[1:])
    return spec_from_args(args), args


# CHECK-LABEL: TEST: test_spec_to_cli_round_trips
# CHECK-NEXT: 1500 commands, 0 differ
# CHECK-NEXT: dwmlir run --op depthwise_conv_1d_nwc_wc --input 2x9x3 --filter 3x3 --strides 2 --dilations 1 --dtype i32 --name k7 --vector-bits 512 --mode aot,jit --seed 7
# CHECK-NEXT: same spec: True; vector bits 512, mode aot,jit, seed 7
# CHECK-NEXT: dwmlir run --op depthwise_conv_2d_nhwc_hwc_q --input 1x3x3x8 --filter 3x3x8 --strides 1,1 --dilations 1,1 --dtype i8 --input-zp -3 --filter-zp 5 --vector-bits 128
# CHECK-NEXT: 300 cases with targets, 0 differ
# CHECK-NEXT: dwmlir run --op depthwise_conv_1d_nwc_wc --input 2x9x3 --filter 3x3 --strides 2 --dilations 1 --dtype i32 --name k7 --target aarch64-neon
@run
def test_spec_to_cli_round_trips():
    differ = []
    for spec, bits in zip(SPECS + PADDED, itertools.cycle(VALID_VECTOR_BITS)):
        back, args = parse_back(spec_to_cli(spec, bits))
        if back != as_block(spec) or args.vector_bits != str(bits) or args.mode != "aot" or args.seed != 0:
            differ.append((spec_to_cli(spec, bits), spec, back))
    print(len(SPECS + PADDED), "commands,", len(differ), "differ")
    for d in differ[:5]:
        print("  ", *d)
    spec = ConvSpec(NWC, (2, 9, 3), (3, 3), (2,), dtype="i32", name="k7")
    cmd = spec_to_cli(spec, 512, ("aot", "jit"), 7)
    print(cmd)
    back, args = parse_back(cmd)
    print(
        f"same spec: {back == as_block(spec)}; vector bits {args.vector_bits}, mode {args.mode}, seed {args.seed}"
    )
    q = ConvSpec(
        "depthwise_conv_2d_nhwc_hwc_q", (1, 3, 3, 8), (3, 3, 8), dtype="i8", input_zp=-3, filter_zp=5
    )
    print(spec_to_cli(q, 128))
    wrong = 0
    for c in CASES:
        back, args = parse_back(spec_to_cli(c.spec, c.vector_bits, target=c.target))
        bits = None if args.vector_bits is None else int(args.vector_bits)
        wrong += (back, args.target, bits) != (c.spec, c.target, c.vector_bits)
    print(f"{len(CASES)} cases with targets, {wrong} differ")
    print(spec_to_cli(spec, None, target="aarch64-neon"))


def planted(case, modes):
    """A fake check with two planted bugs and known minimal specs (no compilation)."""
    s = case.spec.conv
    if s.channels >= 17 and max(s.strides) > 1:
        return driver.MISMATCH, "planted"
    if s.dtype == "i32" and max(s.kernel) >= 3:
        return driver.CRASH, "planted"
    return None


# CHECK-LABEL: TEST: test_driver_shrinks_planted_bugs
# CHECK-NEXT: same report twice: True and with -j3: True
# CHECK-NEXT: fuzz: 100 specs, {{[1-9][0-9]*}} mismatches, {{[1-9][0-9]*}} crashes
# CHECK-NEXT: mismatch: dwmlir run --op depthwise_conv_1d_nwc_wc --input 1x1x17 --filter 1x17 --strides 2 --dilations 1 --dtype f32 --vector-bits 128
# The crash's target is what the shrinker settles on (the run-time-sizes draw after the
# block's parts changed it from aarch64-sve at 128 bits to aarch64-neon).
# (The bf16 blocks' draws made it the multiplier op's with M = 1, as small.)
# CHECK-NEXT: crash: dwmlir run --op {{depthwise_conv_1d_nwc_wcm?}} --input 1x3x1 --filter {{3x1(x1)?}} --strides 1 --dilations 1 --dtype i32 {{(--vector-bits 128|--target aarch64-neon)$}}
# CHECK-NEXT: f32 only: fuzz: 100 specs, {{[1-9][0-9]*}} mismatches, 0 crashes
@run
def test_driver_shrinks_planted_bugs():
    real = driver.check_case
    driver.check_case = planted
    try:
        # Seed 7: its 100 draws hit both planted bugs (seed 3's stopped reaching an i32 one
        # when blocks drew a residual without a pointwise conv, seed 5's when the fuzz drew
        # wide and ring specs; from some seeds the mismatch shrinks to a ring spec, 2-D).
        reports = [fuzz(100, 7, timeout=None) for _ in range(2)]
        parallel = fuzz(100, 7, timeout=30, jobs=3)
        f32 = fuzz(100, 7, dtypes=["f32"], timeout=None)
    finally:
        driver.check_case = real
    print("same report twice:", reports[0] == reports[1], "and with -j3:", parallel == reports[0])
    print(reports[0].summary())
    for f in reports[0].failures:
        print(f"{f.kind}: {f.command}")
    print("f32 only:", f32.summary())  # the planted crash needs i32


def hang(case, modes):
    tempfile.mkdtemp(prefix="dwmlir-run-")  # what a killed compile-and-run leaves behind
    time.sleep(60)


def die(case, modes):
    os.abort()


def missing_tool(case, modes):
    raise ToolError("qemu-aarch64 not found")


# A compiler that hangs or dies in-process is a crash, not the end of the run; a missing
# tool stops the run with the tool's message.
# CHECK-LABEL: TEST: test_isolation
# CHECK-NEXT: ('crash', 'timed out after 0.5 s')
# CHECK-NEXT: ('crash', 'the compile-and-run process died (exit status -6)')
# CHECK-NEXT: ('mismatch', 'planted')
# CHECK-NEXT: ToolError: qemu-aarch64 not found
# CHECK-NEXT: killed child's temporary files under the scratch dir: True
# CHECK-NEXT: fuzz: 2 specs, 0 mismatches, 2 crashes; scratch dirs left: 0
@run
def test_isolation():
    real = driver.check_case
    case = driver.FuzzCase(as_block(ConvSpec(NWC, (1, 3, 20), (1, 20), (2,))), "aarch64-sve", 128, 0)
    try:
        for fake in (hang, die, planted, missing_tool):
            driver.check_case = fake
            try:
                print(driver.check_isolated(case, ("aot",), 0.5))
            except ToolError as exc:
                print("ToolError:", exc)
        with tempfile.TemporaryDirectory() as scratch:
            driver.check_case = hang
            driver.check_isolated(case, ("aot",), 0.5, scratch)
            print("killed child's temporary files under the scratch dir:", len(os.listdir(scratch)) == 1)
        before = set(glob.glob(os.path.join(tempfile.gettempdir(), "dwmlir-fuzz-*")))
        report = fuzz(2, 0, timeout=0.5, jobs=2)
        left = set(glob.glob(os.path.join(tempfile.gettempdir(), "dwmlir-fuzz-*"))) - before
        print(f"{report.summary()}; scratch dirs left: {len(left)}")
    finally:
        driver.check_case = real


# The same seed draws the same cases; another seed draws others.
# CHECK-LABEL: TEST: test_seeded
# CHECK-NEXT: same: True, different seed differs: True
@run
def test_seeded():
    a, b, c = (draw(fuzz_cases(), n=50, seed=s) for s in (9, 9, 10))
    print(f"same: {a == b}, different seed differs: {a != c}")


def padding_only(conv):
    """Whether some output of ``conv`` has no in-bounds tap (in some dim)."""
    for i, o_n, k, s, d, (lo, _) in zip(
        conv.in_spatial,
        conv.out_spatial,
        conv.kernel,
        conv.strides,
        conv.dilations,
        conv.padding,
        strict=True,
    ):
        if any(max(0, -((o * s - lo) // d)) > min(k - 1, (i - 1 + lo - o * s) // d) for o in range(o_n)):
            return True
    return False


def fuzzed_blocks(seed: int, n: int = 1000) -> list:
    """The blocks `dwmlir fuzz --blocks only` runs for ``seed`` (run-time sizes among them)."""
    return [case.spec for case in draw(fuzz_cases(blocks="only"), n=n, seed=seed)]


# Blocks: with --blocks only every spec has a fused part; the draws reach every kind of part
# (float and int8 epilogues, pointwise and expand convs), and each is a valid BlockSpec.
# Residuals after a pointwise conv need a stride-1 'same' conv with COUT = C, which the drawn
# shapes rarely are: the lit tests in Integration/Block cover them. Residuals without one
# make the conv stride 1 'same' (and an expand stage's CIN its C*M): about 1 block in 25,
# 1-D, 2-D and 3-D, f16, the multiplier and expand stages among them. bf16 blocks take every
# part (seed 20; seeds 16 and 18 draw no 3-D residual, 17 and 19 no whole-image tile). One
# expand block with a pointwise conv in 4 pads its first dim by its whole span more, so its
# first outputs read only padding. Wide blocks (WIDE_CHANNELS, 1 in 8) are 2-D layers with
# 128 to 320 channels on small images: expand blocks among them go in several chunks, some
# as whole-image tiles. Ring specs (RING_ONE_IN) put expand blocks through mapped rings, odd
# heights and stride 2 among them (one output row a step too), and through rings in several
# chunks (RING_WIDE_CHANNELS).
# The draws are `dwmlir fuzz`'s own (``fuzz_cases``): from 4f7350d to this test's change
# ``block_specs`` drew wide and ring specs and ``fuzz_cases`` did not.
# CHECK-LABEL: TEST: test_block_draws
# CHECK-NEXT: 1000 blocks, bare 0; epilogue True, requantize True, pointwise True, int8 pointwise True, silu True, multiplier pointwise True, expand True, expand pointwise True, 3-D expand True
# CHECK-NEXT: wide 2-D True, wide expand in chunks True, of them whole-image True; mapped rings True, odd heights True, stride 2 True, one row a step True; rings in chunks True
# CHECK-NEXT: residual without pointwise: {{[2-9][0-9]}} blocks; ranks [1, 2, 3], f16 True, multiplier True, expand True
# CHECK-NEXT: bf16: pointwise True, expand True, residual True
# CHECK-NEXT: expand and pointwise after outputs that read only padding: True
@run
def test_block_draws():
    blocks = fuzzed_blocks(seed=20)
    bare = sum(b.epilogue.empty and b.pointwise is None for b in blocks)
    pw = [b for b in blocks if b.pointwise is not None]
    print(
        f"{len(blocks)} blocks, bare {bare};",
        f"epilogue {any(not b.epilogue.empty for b in blocks)},",
        f"requantize {any(b.epilogue.requantize for b in blocks)},",
        f"pointwise {bool(pw)},",
        f"int8 pointwise {any(b.conv.info.quantized for b in pw)},",
        f"silu {any(b.epilogue.activation.kind == 'silu' for b in blocks)},",
        f"multiplier pointwise {any(b.conv.info.multiplier for b in pw)},",
        f"expand {any(b.expand is not None for b in blocks)},",
        f"expand pointwise {any(b.expand is not None for b in pw)},",
        f"3-D expand {any(b.expand is not None and b.conv.info.rank == 3 for b in blocks)}",
    )
    wide = [b for b in blocks if b.conv.channels in WIDE_CHANNELS]
    sve = get_target("aarch64-sve")
    chunked = [p for b in wide if b.expand is not None and (p := expand_plan(b, sve)).chunk < b.conv.channels]
    planned = [(b, expand_plan(b, sve)) for b in blocks if b.expand is not None]
    mapped = [(b, p) for b, p in planned if p.mapped]
    print(
        f"wide 2-D {bool(wide) and all(b.conv.info.rank == 2 for b in wide)},",
        f"wide expand in chunks {bool(chunked)}, of them whole-image {any(p.whole for p in chunked)};",
        f"mapped rings {bool(mapped)}, odd heights {any(b.conv.output_shape[1] % 2 for b, _ in mapped)},",
        f"stride 2 {any(b.conv.strides == (2, 2) for b, _ in mapped)},",
        f"one row a step {any(p.tile[0] == 1 for _, p in mapped)};",
        f"rings in chunks {any(p.ring and p.chunk < b.conv.channels for b, p in planned)}",
    )
    res = [b for b in blocks if b.residual and b.pointwise is None]
    print(
        f"residual without pointwise: {len(res)} blocks; ranks {sorted({b.conv.info.rank for b in res})},",
        f"f16 {any(b.conv.dtype == 'f16' for b in res)}, multiplier {any(b.conv.info.multiplier for b in res)},",
        f"expand {any(b.expand is not None for b in res)}",
    )
    bf = [b for b in blocks if b.conv.dtype == "bf16"]
    print(
        f"bf16: pointwise {any(b.pointwise is not None for b in bf)},",
        f"expand {any(b.expand is not None for b in bf)}, residual {any(b.residual for b in bf)}",
    )
    wide_pad = [  # seed 20 draws 5 expand blocks with a pointwise conv after such outputs, 17 draws 14
        b
        for b in fuzzed_blocks(seed=17)
        if b.expand is not None and b.pointwise is not None and padding_only(b.conv)
    ]
    print("expand and pointwise after outputs that read only padding:", len(wide_pad) > 5)
