"""``dwmlir bench --set blocks``: fused depthwise-separable blocks against their unfused
pipeline and a hand-written ACLE block.

For every block of the set, at every vector length:

- ``fused``: dwmlir's kernel of the whole block (one ``BlockSpec``).
- ``unfused``: the same work done by dwmlir's separate kernels, each run on its own buffers:
  the expand 1x1 conv (bias and ReLU6 in its epilogue), the depthwise conv (bias and
  activation in its epilogue), the pointwise 1x1 conv (bias and activation in its epilogue),
  and, for a residual block, an elementwise add pass (``bench/blk_add.c``: dwmlir has no
  kernel that adds two tensors, and its 1x1 kernel takes no second addend). dwmlir has no
  bare GEMM kernel either: a 1x1 conv is a block of a 1x1 depthwise conv (a filter of ones)
  fused with a pointwise conv, whose depthwise part (one multiply, load and store per input
  element, into the stack scratch) is charged to the unfused pipeline.
- ``unf-id``: ``unfused`` less that identity part, each 1x1 stage's counted as a bare 1x1
  depthwise kernel of the same shape (``identity:STAGE``: load, multiply, store). An estimate
  of the unfused pipeline with bare GEMM kernels, on the strict side: the bare kernel's own
  loop and call overhead is taken off too. The identity part was 0.7 % of MobileNetV1 block
  7's unfused pipeline and 2.7 % of MobileNetV2 block 7's (512 bits).
- ``acle``: ``bench/blk_acle.c``, the block written by hand in SVE ACLE.

Every run is checked against the numpy reference (``block_reference``) before it counts.
Instructions per MAC counts the MACs of every stage (expand, depthwise, pointwise) once.
Memory traffic is the analytic "each buffer once" model: the bytes of every buffer a kernel
reads or writes (input, weights, biases, output), each counted once per kernel (re-reads of a
buffer within a kernel are assumed to hit the cache; stack scratch is not counted). The
unfused pipeline writes each intermediate tensor and reads it back in the next kernel.

With ``--cache-bits``, every kernel (fused, each unfused stage, ACLE) also runs under the
cache model (``bench/cache.py``: Neoverse V1's 64 KiB L1D and 1 MiB L2, cold at the kernel's
first access, dirty lines written back at the end): the bytes it really moves between L2
and DRAM. Each unfused kernel starts cold, so the unfused sum counts every intermediate
tensor written to DRAM and read back, even one that would still sit in L2 for the next
kernel (an upper bound for that pipeline where the tensor fits in L2).
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..artefact import compile_spec
from ..errors import InternalError, UserError
from ..reference.block_ref import block_reference, compare_block, random_block_operands
from ..run.harness import link_harness, render_harness
from ..spec import BlockSpec, ConvSpec, Epilogue, Expand, Pointwise
from ..spec.block import Activation
from ..target import get_target
from ..toolchain import cross_cc, run
from .baselines import CFLAGS, clang, source_dir
from .cache import CacheResult, model_cache
from .hotloop import Loop, find_loops
from .icount import count_instructions
from .mca import McaResult, analyze
from .runner import kernel_symbols

OP_1D, OP_2D = "depthwise_conv_1d_nwc_wc", "depthwise_conv_2d_nhwc_hwc"
# Output rows and columns of a 2-D block are capped at this (qemu time); channels stay real.
MAX_OUT_HW = 14
# MobileNetV2's inverted residual blocks at 224x224: (input H=W, CIN, expansion t, COUT, stride).
MOBILENET_V2 = (
    (112, 32, 1, 16, 1),
    (112, 16, 6, 24, 2),
    (56, 24, 6, 24, 1),
    (56, 24, 6, 32, 2),
    (28, 32, 6, 32, 1),
    (28, 32, 6, 32, 1),
    (28, 32, 6, 64, 2),
    (14, 64, 6, 64, 1),
    (14, 64, 6, 64, 1),
    (14, 64, 6, 64, 1),
    (14, 64, 6, 96, 1),
    (14, 96, 6, 96, 1),
    (14, 96, 6, 96, 1),
    (14, 96, 6, 160, 2),
    (7, 160, 6, 160, 1),
    (7, 160, 6, 160, 1),
    (7, 160, 6, 320, 1),
)
# MobileNetV1's separable blocks at 224x224: (input H=W, C, COUT, stride).
MOBILENET_V1 = (
    (112, 32, 64, 1),
    (112, 64, 128, 2),
    (56, 128, 128, 1),
    (56, 128, 256, 2),
    (28, 256, 256, 1),
    (28, 256, 512, 2),
    *((14, 512, 512, 1),) * 5,
    (14, 512, 1024, 2),
    (7, 1024, 1024, 1),
)
ACT_CODES = {"none": 0, "relu": 1, "relu6": 2, "silu": 3}
Progress = Callable[[str], None]
_LOCK = threading.Lock()
UNFUSED_ID = "unf-id"  # unfused less its 1x1 stages' identity passes (see the module docstring)


@dataclass(frozen=True)
class BenchBlock:
    """One block of the set: the fused spec, how it stands for the real layer, its MACs."""

    block: BlockSpec
    family: str  # mnv2, mnv1, conformer
    layer: str
    note: str = ""

    @property
    def name(self) -> str:
        return self.block.name

    @property
    def macs(self) -> dict[str, int]:
        """MACs per stage: expand (every input pixel), depthwise, pointwise."""
        b, conv = self.block, self.block.conv
        pixels_in = math.prod(conv.in_spatial) * conv.batch
        pixels_out = math.prod(conv.out_spatial) * conv.batch
        out = {}
        if b.expand is not None:
            out["expand"] = pixels_in * b.expand.cin * conv.channels
        out["depthwise"] = pixels_out * conv.channels * math.prod(conv.kernel)
        if b.pointwise is not None:
            out["pointwise"] = pixels_out * conv.channels * b.pointwise.cout
        return out

    @property
    def total_macs(self) -> int:
        return sum(self.macs.values())

    def stages(self) -> list[tuple[str, BlockSpec | int]]:
        """The unfused pipeline: (stage, dwmlir block) or ("residual add", elements)."""
        b, conv = self.block, self.block.conv
        op = conv.op
        batch = conv.batch
        out: list[tuple[str, BlockSpec | int]] = []
        ex = b.expand
        if ex is not None:
            out.append(
                (
                    "expand",
                    _gemm(op, batch, conv.in_spatial, ex.cin, conv.channels, ex.epilogue, f"{b.name}_ex"),
                )
            )
        out.append(("depthwise", BlockSpec(dataclasses.replace(conv, name=f"{b.name}_dw"), b.epilogue)))
        pw = b.pointwise
        assert pw is not None
        out.append(
            (
                "pointwise",
                _gemm(op, batch, conv.out_spatial, conv.channels, pw.cout, pw.epilogue, f"{b.name}_pw"),
            )
        )
        if b.residual:
            out.append(("residual add", batch * math.prod(conv.out_spatial) * pw.cout))
        return out


def _gemm(
    op: str, batch: int, spatial: tuple[int, ...], k: int, n: int, epi: Epilogue, name: str
) -> BlockSpec:
    """dwmlir's 1x1 conv: a 1x1 depthwise conv (filter of ones at run time) and a pointwise conv."""
    conv = ConvSpec(op, (batch, *spatial, k), (*(1,) * len(spatial), k), name=name)
    return BlockSpec(conv, Epilogue(), Pointwise(n, epi))


def _cap(size: int, stride: int) -> tuple[int, str]:
    """Input size and note for a 2-D SAME layer of ``size`` with outputs capped at MAX_OUT_HW."""
    out = -(-size // stride)
    if out <= MAX_OUT_HW:
        return size, ""
    return MAX_OUT_HW * stride, f"run at {MAX_OUT_HW}x{MAX_OUT_HW} outputs of {out}x{out}"


def _mnv2(index: int, size: int, cin: int, t: int, cout: int, stride: int) -> BenchBlock:
    c = cin * t
    run_size, note = _cap(size, stride)
    name = f"mnv2_b{index}"
    conv = ConvSpec(OP_2D, (1, run_size, run_size, c), (3, 3, c), (stride, stride), padding="same", name=name)
    relu6 = Epilogue(bias=True, activation=Activation("relu6"))
    residual = stride == 1 and cin == cout
    ex = Expand(cin, relu6) if t != 1 else None
    block = BlockSpec(conv, relu6, Pointwise(cout, Epilogue(bias=True)), ex, residual=residual)
    parts = (f"expand {cin}->{c} ReLU6, " if ex else "") + f"3x3 s{stride} ReLU6, project {c}->{cout}"
    layer = f"MobileNetV2 block {index}: {size}x{size}x{cin}, {parts}" + (", residual" if residual else "")
    return BenchBlock(block, "mnv2", layer, note)


def _mnv1(index: int, size: int, c: int, cout: int, stride: int) -> BenchBlock:
    run_size, note = _cap(size, stride)
    name = f"mnv1_b{index}"
    conv = ConvSpec(OP_2D, (1, run_size, run_size, c), (3, 3, c), (stride, stride), padding="same", name=name)
    relu = Epilogue(bias=True, activation=Activation("relu"))
    block = BlockSpec(conv, relu, Pointwise(cout, relu))
    layer = (
        f"MobileNetV1 block {index}: {size}x{size}x{c} 3x3 s{stride} + BN-bias + ReLU, "
        f"pointwise {c}->{cout} + bias + ReLU"
    )
    return BenchBlock(block, "mnv1", layer, note)


def _conformer(name: str = "conformer", c: int = 256, t: int = 128, k: int = 31) -> BenchBlock:
    conv = ConvSpec(OP_1D, (1, t, c), (k, c), padding="same", name=name)
    block = BlockSpec(
        conv, Epilogue(bias=True, activation=Activation("silu")), Pointwise(c, Epilogue(bias=True))
    )
    layer = f"Conformer conv module: 1-D {t}x{c}, K={k} SAME + bias + SiLU, pointwise {c}->{c} + bias"
    return BenchBlock(block, "conformer", layer)


def block_set() -> list[BenchBlock]:
    return [
        *(_mnv2(i, *row) for i, row in enumerate(MOBILENET_V2, start=1)),
        *(_mnv1(i, *row) for i, row in enumerate(MOBILENET_V1, start=1)),
        _conformer(),
    ]


def quick_block_set() -> list[BenchBlock]:
    """Two tiny blocks for the test suite: an inverted residual with a channel tail at 1024 and
    2048 bits (C=48), and a short 1-D Conformer-style block."""
    relu6 = Epilogue(bias=True, activation=Activation("relu6"))
    conv = ConvSpec(OP_2D, (1, 6, 6, 48), (3, 3, 48), padding="same", name="qb_mnv2")
    mnv2 = BenchBlock(
        BlockSpec(conv, relu6, Pointwise(8, Epilogue(bias=True)), Expand(8, relu6), residual=True),
        "mnv2",
        "inverted residual 6x6x8, expand 8->48 ReLU6, 3x3 s1 ReLU6, project 48->8, residual",
    )
    return [mnv2, _conformer("qb_conformer", c=32, t=12, k=7)]


def select_blocks(names: Sequence[str] | None, quick: bool) -> list[BenchBlock]:
    if not names:
        return quick_block_set() if quick else block_set()
    known = {b.name: b for b in (*quick_block_set(), *block_set())}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserError(f"unknown benchmark block '{unknown[0]}': see 'dwmlir bench --set blocks --list'")
    return [known[n] for n in dict.fromkeys(names)]


# -- building ----------------------------------------------------------------------------------


def block_macros(block: BlockSpec) -> list[str]:
    """``-D`` flags describing ``block`` for bench/blk_acle.c."""
    conv = block.conv
    pw = block.pointwise
    if conv.dtype != "f32" or pw is None or conv.multiplier != 1 or any(d != 1 for d in conv.dilations):
        raise InternalError(f"blk_acle.c has no form of {block.describe()}")
    two_d = conv.info.rank == 2
    h, w = conv.in_spatial if two_d else (1, conv.in_spatial[0])
    kh, kw = conv.kernel if two_d else (1, conv.kernel[0])
    oh, ow = conv.out_spatial if two_d else (1, conv.out_spatial[0])
    s = conv.strides[-1]
    pt, pl = (conv.padding[0][0], conv.padding[1][0]) if two_d else (0, conv.padding[0][0])
    ex = block.expand
    values = {
        "BK_NAME": block.name,
        "BK_H": h,
        "BK_W": w,
        "BK_CIN": ex.cin if ex else 0,
        "BK_C": conv.channels,
        "BK_KH": kh,
        "BK_KW": kw,
        "BK_S": s,
        "BK_PT": pt,
        "BK_PL": pl,
        "BK_OH": oh,
        "BK_OW": ow,
        "BK_COUT": pw.cout,
        "BK_EACT": ACT_CODES[ex.epilogue.activation.kind] if ex else 0,
        "BK_DACT": ACT_CODES[block.epilogue.activation.kind],
        "BK_PACT": ACT_CODES[pw.epilogue.activation.kind],
        "BK_RES": int(block.residual),
    }
    return [f"-D{k}={v}" for k, v in values.items()]


_ADD_DRIVER = """\
#include <stdio.h>
#include <stdlib.h>
void {name}(const float *a, const float *b, float *out);
static float *load(const char *p, size_t n) {{
  float *buf = malloc(n * 4);
  FILE *f = fopen(p, "rb");
  if (!buf || !f || fread(buf, 4, n, f) != n) exit(3);
  fclose(f);
  return buf;
}}
int main(int argc, char **argv) {{
  if (argc != 4) return 2;
  const size_t n = {n}u;
  float *a = load(argv[1], n), *b = load(argv[2], n), *out = malloc(n * 4);
  if (!out) return 3;
  {name}(a, b, out);
  FILE *f = fopen(argv[3], "wb");
  if (!f || fwrite(out, 4, n, f) != n) return 3;
  fclose(f);
  return 0;
}}
"""


@dataclass
class Run:
    """One executable of a block (the fused kernel, one unfused stage, or the ACLE block)."""

    impl: str  # fused, unfused:<stage>, acle
    symbol: str
    exe: Path
    asm: str
    inputs: list[np.ndarray]
    want: np.ndarray
    check: Callable[[np.ndarray], tuple[bool, float]]
    out_dtype: str
    buffer_bytes: int
    compile_seconds: float = 0.0
    status: str = "ok"
    detail: str = ""
    instructions: dict[int, int] = field(default_factory=dict)
    cache: dict[int, CacheResult] = field(default_factory=dict)  # per vector length (--cache-bits)

    def fail(self, status: str, detail: str) -> None:
        if self.status == "ok":
            self.status, self.detail = status, detail


@dataclass
class BlockResult:
    block: BenchBlock
    runs: list[Run]
    # impl -> GEMM loops: (header, accumulators, llvm-mca result per CPU)
    gemm_mca: dict[str, list[tuple[str, int, McaResult]]] = field(default_factory=dict)

    def of(self, impl: str) -> list[Run]:
        if impl == UNFUSED_ID:  # the kernels its count is made of
            return self.of("unfused") + self.of("identity")
        return [r for r in self.runs if r.impl == impl or r.impl.startswith(impl + ":")]

    def ok(self, impl: str) -> bool:
        runs = self.of(impl)
        return bool(runs) and all(r.status == "ok" for r in runs)

    def per_mac(self, impl: str, bits: int) -> float | None:
        if impl == UNFUSED_ID:
            unfused = self.per_mac("unfused", bits)
            identity = self.per_mac("identity", bits) if self.of("identity") else 0.0
            return None if unfused is None or identity is None else unfused - identity
        runs = self.of(impl)
        if not self.ok(impl) or any(bits not in r.instructions for r in runs):
            return None
        return sum(r.instructions[bits] for r in runs) / self.block.total_macs

    def traffic(self, impl: str) -> int:
        return sum(r.buffer_bytes for r in self.of(impl))

    def dram(self, impl: str, bits: int) -> int | None:
        """DRAM bytes of ``impl``'s kernels under the cache model at ``bits`` (None if not run)."""
        runs = self.of(impl)
        if not self.ok(impl) or any(bits not in r.cache for r in runs):
            return None
        return sum(r.cache[bits].dram_bytes for r in runs)


def _check_block(block: BlockSpec, operands: list[np.ndarray], want: np.ndarray):
    def check(got: np.ndarray) -> tuple[bool, float]:
        cmp = compare_block(block, got, want, operands)
        return cmp.ok, cmp.max_abs_err

    return check


def _block_run(impl: str, block: BlockSpec, exe: Path, asm: str, seed: int) -> Run:
    operands = random_block_operands(block, seed)
    if impl.startswith(("unfused:", "identity:")) and block.conv.kernel == (1,) * block.conv.info.rank:
        operands[1] = np.ones_like(operands[1])  # the 1x1 conv's depthwise part is the identity
    want = block_reference(block, *operands)
    return Run(
        impl,
        block.name,
        exe,
        asm,
        operands,
        want,
        _check_block(block, operands, want),
        block.out_np_dtype,
        sum(a.bytes for a in block.buffers),
    )


def _link_block(work: Path, block: BlockSpec, obj: bytes, header: str) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    (work / f"{block.name}.o").write_bytes(obj)
    (work / f"{block.name}.h").write_text(header)
    driver = work / "driver.c"
    driver.write_text(render_harness(block))
    exe = work / "driver"
    link_harness(get_target("aarch64-sve"), driver, work, work / f"{block.name}.o", exe)
    return exe


def _clang(src: Path, macros: list[str], work: Path, name: str) -> tuple[bytes, str, float]:
    args = [clang(), *CFLAGS, "-I", src.parent, *macros, src]
    obj = work / f"{name}.o"
    start = time.perf_counter()
    run([*args, "-c", "-o", obj], what=f"clang on {src.name} for {name}")
    seconds = time.perf_counter() - start
    asm = run([*args, "-S", "-o", "-"], what=f"clang -S on {src.name}").stdout.decode()
    return obj.read_bytes(), asm, seconds


def _build(bb: BenchBlock, root: Path, seed: int, progress: Progress) -> list[Run]:
    target = get_target("aarch64-sve")
    runs: list[Run] = []
    work = root / bb.name
    header = ""
    stages = [(f"unfused:{s}", x) for s, x in bb.stages()]
    identity = [  # the 1x1 stages' depthwise part alone (unf-id)
        (f"identity:{s}", BlockSpec(dataclasses.replace(x.conv, name=f"{x.conv.name}_id"), Epilogue()))
        for s, x in bb.stages()
        if isinstance(x, BlockSpec) and x.conv.kernel == (1,) * x.conv.info.rank
    ]
    for impl, spec in [("fused", bb.block), *stages, *identity]:
        d = work / impl.replace(":", "_").replace(" ", "_")
        if isinstance(spec, int):  # the residual add pass
            d.mkdir(parents=True)
            name = f"{bb.name}_add"
            obj, asm, seconds = _clang(
                source_dir() / "blk_add.c", [f"-DBK_NAME={name}", f"-DBK_N={spec}"], d, name
            )
            (d / "driver.c").write_text(_ADD_DRIVER.format(name=name, n=spec))
            exe = d / "driver"
            run(
                [cross_cc(), "-static", "-O1", d / "driver.c", d / f"{name}.o", "-o", exe],
                what=f"linking {exe}",
            )
            rng = np.random.default_rng(seed)
            a, b = (rng.uniform(-1, 1, spec).astype(np.float32) for _ in range(2))
            want = a + b
            r = Run(
                impl,
                name,
                exe,
                asm,
                [a, b],
                want,
                lambda got, w=want: (bool(np.array_equal(got, w)), float(np.max(np.abs(got - w), initial=0))),
                "float32",
                12 * spec,
                seconds,
            )
            runs.append(r)
            continue
        start = time.perf_counter()
        art = compile_spec(spec, target)
        seconds = time.perf_counter() - start
        if impl == "fused":
            header = art.text(".h")
        exe = _link_block(d, spec, art.files[".o"], art.text(".h"))
        r = _block_run(impl, spec, exe, art.text(".s"), seed)
        r.compile_seconds = seconds
        runs.append(r)
    d = work / "acle"
    d.mkdir(parents=True)
    obj, asm, seconds = _clang(source_dir() / "blk_acle.c", block_macros(bb.block), d, bb.name)
    exe = _link_block(d, bb.block, obj, header)
    r = _block_run("acle", bb.block, exe, asm, seed)
    r.compile_seconds = seconds
    runs.append(r)
    progress(f"built {bb.name}: " + ", ".join(f"{r.impl} {r.compile_seconds:.1f}s" for r in runs))
    return runs


def _input_files(r: Run) -> list[Path]:
    """The files ``_write_inputs`` wrote for ``r``, in argument order."""
    return [r.exe.parent / f"in{n}.bin" for n in range(len(r.inputs))]


def _write_inputs(r: Run) -> None:
    """Write ``r``'s operands once, before its measurements run side by side."""
    for path, arr in zip(_input_files(r), r.inputs, strict=True):
        path.write_bytes(arr.tobytes())


def _measured(r: Run, bits: int, what: str, measure: Callable):
    """``measure(exe, args, symbols, bits)`` of one run (instruction count or cache model),
    its output checked against numpy; None (and the run marked) if it failed or differs."""
    out = r.exe.parent / f"out-{what.replace(' ', '-')}-{bits}.bin"
    try:
        res = measure(r.exe, [*_input_files(r), out], kernel_symbols(r.symbol, r.asm), bits)
    except InternalError as exc:
        with _LOCK:
            r.fail("FAILED", f"{what} at {bits} bits: {exc}")
        return None
    got = np.frombuffer(out.read_bytes(), dtype=r.out_dtype).reshape(r.want.shape)
    ok, err = r.check(got)
    if not ok:
        with _LOCK:
            r.fail("WRONG", f"differs from numpy at {bits} bits (max |err| {err:.3g})")
        return None
    return res


def _count(r: Run, bits: int) -> None:
    if (count := _measured(r, bits, "run", count_instructions)) is not None:
        with _LOCK:
            r.instructions[bits] = count.in_range


def _model_cache(r: Run, bits: int) -> None:
    if (res := _measured(r, bits, "cache model", model_cache)) is not None:
        with _LOCK:
            r.cache[bits] = res


def gemm_loops(asm: str) -> list[Loop]:
    """The GEMM micro-kernel loops of a kernel: loops whose own body multiply-adds broadcast
    activations (``ld1rw``, or ``ld1rqw`` quads for indexed FMAs), at least 8 FMAs per
    iteration (the one-vector channel tails do 2)."""
    return [
        lp for lp in find_loops(asm) if lp.fmas >= 8 and lp.mnemonics["ld1rw"] + lp.mnemonics["ld1rqw"] > 0
    ]


def accumulators(lp: Loop) -> int:
    """Distinct FMA destination registers: 20 for a 10-pixel x 2-vector micro-kernel, 2 for a
    one-pixel block of leftover pixels."""
    return len({i.text.split(None, 1)[1].split(",")[0].strip() for i in lp.instructions if i.kind == "fma"})


def run_blocks(
    blocks: Sequence[BenchBlock],
    vector_bits: Sequence[int],
    cpus: Sequence[str],
    *,
    seed: int = 0,
    jobs: int | None = None,
    progress: Progress = lambda _: None,
    cache_bits: Sequence[int] = (),
) -> list[BlockResult]:
    """Build and count every block; ``cache_bits``: vector lengths at which the fused, unfused
    and ACLE kernels also run under the cache model (the identity passes do not)."""
    jobs = jobs or os.cpu_count() or 1
    results: list[BlockResult] = []
    mca_cache: dict[tuple[str, str], McaResult] = {}
    with tempfile.TemporaryDirectory(prefix="dwmlir-bench-blocks-") as tmp:
        root = Path(tmp)
        seen: dict[BlockSpec, list[Run]] = {}
        for bb in blocks:
            b = bb.block
            key = dataclasses.replace(b, conv=dataclasses.replace(b.conv, name="k"))
            if key in seen:  # the same layer again (MobileNetV1's five 14x14x512 blocks): same runs
                results.append(BlockResult(bb, seen[key]))
                progress(f"{bb.name}: the same block as an earlier one, counted once")
                continue
            try:
                runs = _build(bb, root, seed, progress)
            except InternalError as exc:
                failed = Run(
                    "fused", bb.name, Path(), "", [], np.zeros(0), lambda g: (False, 0.0), "float32", 0
                )
                failed.fail("FAILED", f"build: {exc}")
                runs = [failed]
            seen[key] = runs
            results.append(BlockResult(bb, runs))
        with ThreadPoolExecutor(jobs) as pool:
            unique = [r for runs in seen.values() for r in runs if r.status == "ok"]
            for r in unique:
                _write_inputs(r)
            futures = [pool.submit(_count, r, bits) for r in unique for bits in vector_bits]
            futures += [
                pool.submit(_model_cache, r, bits)
                for r in unique
                if not r.impl.startswith("identity:")
                for bits in cache_bits
            ]
            progress(f"running {len(futures)} qemu jobs on {jobs} threads")
            for fut in futures:
                fut.result()
        done: set[int] = set()
        for res in results:
            if id(res.runs) in done:
                res.gemm_mca = next(x.gemm_mca for x in results if x.runs is res.runs)
                continue
            done.add(id(res.runs))
            for r in res.runs:
                if r.status != "ok" or r.impl == "unfused:residual add":
                    continue
                loops = gemm_loops(r.asm)
                found = []
                for lp in loops:
                    for cpu in cpus:
                        key = (lp.mca_input(), cpu)
                        if key not in mca_cache:
                            mca_cache[key] = analyze(lp, cpu)
                        found.append((lp.header, accumulators(lp), mca_cache[key]))
                res.gemm_mca[r.impl] = found
    return results


# -- reporting ---------------------------------------------------------------------------------

MIN_V1_FMA_USE = 0.85
V1 = "neoverse-v1"


def _f(x: float | None, width: int, digits: int = 3) -> str:
    return f"{'-' if x is None else f'{x:.{digits}f}':>{width}}"


def _v1_lowest(res: BlockResult, impl: str, main: bool = True) -> tuple[float, str] | None:
    """Lowest neoverse-v1 FMA-pipe utilization among ``impl``'s main GEMM loops (>= 8
    accumulators: 4 to 10 pixels x 2 vectors, 8 to 20 x 1), or among its smaller blocks of
    leftover pixels (``main=False``)."""
    vals = [
        (m.fma_utilization, h)
        for h, acc, m in res.gemm_mca.get(impl, [])
        if m.cpu == V1 and (acc >= 8) == main
    ]
    return min(vals) if vals else None


def render_blocks(
    results: Sequence[BlockResult],
    vector_bits: Sequence[int],
    cpus: Sequence[str],
    seconds: float,
    set_name: str,
    cache_bits: Sequence[int] = (),
) -> str:
    vls = list(vector_bits)
    w = max([5, *(len(r.block.name) for r in results)])
    lines = [
        f"dwmlir bench: {len(results)} blocks ({set_name}), SVE {','.join(map(str, vls))} bits, "
        f"llvm-mca on {','.join(cpus) or '(none)'}",
        "",
        "Instructions per MAC (qemu, inside the kernels; MACs of expand + depthwise + pointwise; "
        "lower is better)",
        f"({UNFUSED_ID}: unfused less its 1x1 convs' identity depthwise passes, each counted as a "
        "bare 1x1 depthwise kernel)",
        f"{'block':<{w}}  {'impl':<8} {'check':<6}" + "".join(f"{v:>9}" for v in vls),
    ]
    for res in results:
        for n, impl in enumerate(("fused", "unfused", UNFUSED_ID, "acle")):
            runs = res.of(impl)
            status = "ok" if res.ok(impl) else next((r.status for r in runs if r.status != "ok"), "n/a")
            name = res.block.name if n == 0 else ""
            lines.append(
                f"{name:<{w}}  {impl:<8} {status:<6}" + "".join(_f(res.per_mac(impl, v), 9) for v in vls)
            )
        for base in ("unfused", UNFUSED_ID, "acle"):
            ratios = [_ratio(res, base, v) for v in vls]
            lines.append(f"{'':<{w}}  {'fused/' + base:<15}" + "".join(_f(x, 9) for x in ratios))
    lines.append("")
    lines.append(
        "Memory traffic (bytes of the buffers each kernel reads and writes, each once; "
        "stack scratch not counted)"
    )
    lines.append(f"{'block':<{w}}  {'fused':>12} {'unfused':>12} {'ratio':>6}")
    for res in results:
        f, u = res.traffic("fused"), res.traffic("unfused")
        lines.append(f"{res.block.name:<{w}}  {f:>12} {u:>12} {_f(f / u if u else None, 6, 2)}")
    lines.append("")
    if cache_bits:
        lines.extend(_dram_lines(results, cache_bits, w))
        lines.append("")
    lines.append(
        f"GEMM loops on {V1} (llvm-mca): lowest FMA-pipe utilization of the main micro-kernel loops "
        "(8 or more accumulators) / of the leftover-pixel blocks (fewer)"
    )
    lines.append(f"{'block':<{w}}  {'fused':>12} {'expand':>12} {'pointwise':>12}")
    for res in results:
        cells = []
        for impl in ("fused", "unfused:expand", "unfused:pointwise"):
            main, rest = _v1_lowest(res, impl), _v1_lowest(res, impl, main=False)
            cells.append(
                "-"
                if main is None and rest is None
                else "/".join("-" if x is None else f"{100 * x[0]:.0f}%" for x in (main, rest))
            )
        lines.append(f"{res.block.name:<{w}}  " + " ".join(f"{c:>12}" for c in cells))
    lines.append("")
    lines.extend(_targets(results, vls))
    lines.append("")
    lines.append("Blocks:")
    for res in results:
        bb = res.block
        note = f"; {bb.note}" if bb.note else ""
        macs = ", ".join(f"{k} {v}" for k, v in bb.macs.items())
        lines.append(f"  {bb.name}: {bb.layer}{note}; MACs {macs}")
    problems = [
        f"  {res.block.name} {r.impl}: {r.status}: {r.detail}"
        for res in results
        for r in res.runs
        if r.status != "ok"
    ]
    if problems:
        lines.append("Problems:")
        lines.extend(problems)
    ok = sum(all(r.status == "ok" for r in res.runs) for res in results)
    lines.append(
        f"correctness: {ok}/{len(results)} blocks (fused, every unfused stage, identity passes, acle) "
        "match numpy at every vector length"
    )
    lines.append(f"time: total {seconds:.1f}s")
    return "\n".join(lines)


def _dram_lines(results: Sequence[BlockResult], cache_bits: Sequence[int], w: int) -> list[str]:
    lines = [
        "DRAM traffic (cache model: Neoverse V1's 64 KiB 4-way L1D and 1 MiB 8-way L2; bytes between "
        "L2 and DRAM, each kernel starting cold, its dirty lines, stack scratch too, written back at "
        "the end; ratio: fused / unfused; x buffers: fused over its buffers' bytes above)",
        f"{'block':<{w}}  {'bits':>4} {'fused':>12} {'unfused':>12} {'acle':>12} {'ratio':>6} "
        f"{'x buffers':>9}",
    ]
    for res in results:
        for n, bits in enumerate(cache_bits):
            f, u, a = (res.dram(impl, bits) for impl in ("fused", "unfused", "acle"))
            cells = " ".join(f"{'-' if x is None else x:>12}" for x in (f, u, a))
            ratio = f / u if f is not None and u else None
            own = res.traffic("fused")
            buffers = f / own if f is not None and own else None
            name = res.block.name if n == 0 else ""
            lines.append(f"{name:<{w}}  {bits:>4} {cells} {_f(ratio, 6, 2)} {_f(buffers, 9, 2)}")
    return lines


def _ratio(res: BlockResult, base: str, bits: int) -> float | None:
    a, b = res.per_mac("fused", bits), res.per_mac(base, bits)
    return a / b if a and b else None


def target_status(results: Sequence[BlockResult], vls: Sequence[int]) -> dict[str, dict]:
    """Per target: met, and the worst block per VL."""
    out: dict[str, dict] = {}
    for base, limit, strict in (("unfused", 1.0, True), (UNFUSED_ID, 1.0, True), ("acle", 1.0, False)):
        worst: dict[int, tuple[float, str]] = {}
        for v in vls:
            pairs = [(r, res.block.name) for res in results if (r := _ratio(res, base, v)) is not None]
            if pairs:
                worst[v] = max(pairs)
        met = (
            bool(worst)
            and len(worst) == len(vls)
            and all((r < limit if strict else r <= limit) for r, _ in worst.values())
        )
        met = met and all(_ratio(res, base, v) is not None for res in results for v in vls)
        out[f"fused/{base}"] = {
            "met": met,
            "worst": {str(v): {"ratio": round(r, 4), "block": n} for v, (r, n) in worst.items()},
        }
    lows = [
        (low[0], f"{res.block.name} {impl}")
        for res in results
        for impl in ("fused", "unfused:expand", "unfused:pointwise")
        if (low := _v1_lowest(res, impl))
    ]
    low = min(lows) if lows else None
    out["v1_gemm_fma"] = {
        "met": low is not None and low[0] >= MIN_V1_FMA_USE,
        "lowest": None if low is None else {"utilization": round(low[0], 4), "loop": low[1]},
    }
    return out


def _targets(results: Sequence[BlockResult], vls: Sequence[int]) -> list[str]:
    st = target_status(results, vls)
    lines = ["Targets:"]
    for key, label in (
        ("fused/unfused", "fused < unfused instructions, every block and VL"),
        ("fused/acle", "fused <= 1.0x the ACLE block, every block and VL"),
        (f"fused/{UNFUSED_ID}", f"(stricter, not a target) fused < {UNFUSED_ID}, every block and VL"),
    ):
        t = st[key]
        worst = ", ".join(f"{v}: {w['ratio']:.3f} ({w['block']})" for v, w in t["worst"].items())
        lines.append(f"  {label}: {'met' if t['met'] else 'NOT MET'}; worst {worst or '-'}")
    v1 = st["v1_gemm_fma"]
    low = v1["lowest"]
    lines.append(
        f"  main GEMM loops >= {100 * MIN_V1_FMA_USE:.0f}% of {V1}'s FMA pipes: "
        f"{'met' if v1['met'] else 'NOT MET'}; "
        + (
            "no neoverse-v1 figures"
            if low is None
            else f"lowest {100 * low['utilization']:.0f}% ({low['loop']})"
        )
    )
    return lines


def blocks_json(
    results: Sequence[BlockResult],
    vls: Sequence[int],
    cpus: Sequence[str],
    seconds: float,
    set_name: str,
    cache_bits: Sequence[int] = (),
) -> dict:
    from .. import __version__

    return {
        "dwmlir_version": __version__,
        "set": set_name,
        "vector_bits": list(vls),
        "cpus": list(cpus),
        "seconds": round(seconds, 1),
        "cache_bits": list(cache_bits),
        "targets": target_status(results, vls),
        "blocks": [
            {
                "name": res.block.name,
                "family": res.block.family,
                "layer": res.block.layer,
                "note": res.block.note,
                "spec": res.block.block.describe(),
                "macs": res.block.macs,
                "impls": {
                    impl: {
                        "status": "ok" if res.ok(impl) else "failed",
                        "instructions_per_mac": {str(v): res.per_mac(impl, v) for v in vls},
                        "bytes": res.traffic(impl),
                        "dram_bytes": {str(b): res.dram(impl, b) for b in cache_bits},
                        "kernels": [
                            {
                                "impl": r.impl,
                                "status": r.status,
                                "detail": r.detail,
                                "instructions": {str(v): n for v, n in sorted(r.instructions.items())},
                                "compile_seconds": round(r.compile_seconds, 3),
                                "bytes": r.buffer_bytes,
                                "cache": {
                                    str(b): {
                                        "dram_bytes": c.dram_bytes,
                                        "l1_misses": c.l1_misses,
                                        "l2_misses": c.l2_misses,
                                    }
                                    for b, c in sorted(r.cache.items())
                                },
                            }
                            for r in res.of(impl)
                        ],
                    }
                    for impl in ("fused", "unfused", "identity", "acle")
                }
                | {UNFUSED_ID: {"instructions_per_mac": {str(v): res.per_mac(UNFUSED_ID, v) for v in vls}}},
                "gemm_loops": {
                    impl: [{"loop": h, "accumulators": a, "cpu": m.cpu, **m.as_dict()} for h, a, m in loops]
                    for impl, loops in res.gemm_mca.items()
                },
            }
            for res in results
        ],
    }
