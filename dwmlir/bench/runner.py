"""Build every kernel and baseline, count instructions under qemu, check, and run llvm-mca.

Builds run one at a time, so compile times are not disturbed by other work; the qemu runs and
llvm-mca runs then share ``jobs`` threads (each is a subprocess). Every run's output is
compared with the numpy reference: an implementation that is wrong at any vector length gets
no numbers at all.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..artefact import compile_spec
from ..errors import InternalError
from ..ir.builder import PART_SUFFIX
from ..reference import compare, depthwise_reference, random_operands
from ..rewrite.outline import OUTLINED_SEPARATOR
from ..run.harness import link_harness, render_dynamic_harness, render_harness
from ..spec import ConvSpec
from ..spec.conv import DYNAMIC_LETTERS
from ..target import get_target
from .baselines import BASELINES, HAND_WRITTEN, build_baseline
from .cache import CacheResult, model_cache
from .hotloop import Loop, hot_loop
from .icount import count_instructions
from .mca import McaResult, analyze
from .suite import BenchKernel

IMPLS = ("dwmlir", *BASELINES)
_LOCK = threading.Lock()
Progress = Callable[[str], None]


@dataclass
class ImplResult:
    impl: str
    status: str = "ok"  # ok, WRONG (numerical mismatch), FAILED (build or run error), n/a
    detail: str = ""
    compile_seconds: float | None = None
    instructions: dict[int, int] = field(default_factory=dict)  # VL -> instructions in the kernel
    max_abs_err: dict[int, float] = field(default_factory=dict)
    run_seconds: float = 0.0  # qemu time, summed over vector lengths
    loop: Loop | None = None
    mca: dict[str, McaResult] = field(default_factory=dict)
    cache: dict[int, CacheResult] = field(default_factory=dict)  # VL -> the cache model's counts

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def fail(self, status: str, detail: str) -> None:
        if self.status == "ok":  # keep the first failure
            self.status, self.detail = status, detail


@dataclass
class KernelResult:
    kernel: BenchKernel
    impls: list[ImplResult]
    # The same kernel compiled with run-time sizes (n and every spatial dim), run at this shape.
    dynamic: ImplResult | None = None
    # Bytes a kernel must move at least: input, filter and output, each once.
    compulsory_bytes: int = 0

    def dram_ratio(self, impl: ImplResult, bits: int) -> float | None:
        """DRAM bytes in the cache model / compulsory bytes, at ``bits``."""
        res = impl.cache.get(bits) if impl.ok else None
        return res.dram_bytes / self.compulsory_bytes if res and self.compulsory_bytes else None

    def l1_per_output(self, impl: ImplResult, bits: int) -> float | None:
        """L1D misses in the cache model per output element, at ``bits``."""
        res = impl.cache.get(bits) if impl.ok else None
        return res.l1_misses / self.kernel.outputs if res else None

    def dynamic_ratio(self, bits: int) -> float | None:
        """Instructions of the kernel with run-time sizes / the static one's, at ``bits``."""
        if self.dynamic is None:
            return None
        dyn, static = self.per_output(self.dynamic, bits), self.per_output_of("dwmlir", bits)
        return dyn / static if dyn and static else None

    def per_output(self, impl: ImplResult, bits: int) -> float | None:
        if not impl.ok or bits not in impl.instructions:
            return None
        return impl.instructions[bits] / self.kernel.outputs

    def per_output_of(self, name: str, bits: int) -> float | None:
        """``per_output`` of the implementation called ``name`` (None if it did not run)."""
        return next((self.per_output(i, bits) for i in self.impls if i.impl == name), None)

    def strongest(self, bits: int) -> tuple[str, float] | None:
        """(name, instructions per output) of the hand-written ACLE baseline with the fewest at
        ``bits``, or None when none ran; the first in HAND_WRITTEN order wins a tie."""
        hand = [i for i in self.impls if i.impl in HAND_WRITTEN]
        counts = [(x, i.impl) for i in hand if (x := self.per_output(i, bits))]
        if not counts:
            return None
        best = min(x for x, _ in counts)
        return next((name, x) for x, name in counts if x == best)


@dataclass
class _Built:
    kernel: BenchKernel
    impl: ImplResult
    exe: Path
    asm: str


def _link(work: Path, spec_name: str, driver: Path, obj: bytes, header: str) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    (work / f"{spec_name}.o").write_bytes(obj)
    (work / f"{spec_name}.h").write_text(header)
    exe = work / "driver"
    link_harness(get_target("aarch64-sve"), driver, work, work / f"{spec_name}.o", exe)
    return exe


def dynamic_spec(spec: ConvSpec) -> ConvSpec:
    """``spec`` with the batch and every spatial size given at run time."""
    dims = tuple(ch for ch in spec.info.input_layout if ch in DYNAMIC_LETTERS)
    return dataclasses.replace(spec, dynamic=dims)


def _build_dynamic(kernel: BenchKernel, root: Path) -> _Built:
    """The kernel compiled with run-time sizes, linked with the driver that passes them."""
    spec = dynamic_spec(kernel.spec)
    res = ImplResult("dynamic")
    work = root / kernel.spec.name / "dynamic"
    work.mkdir(parents=True)
    driver = work / "driver.c"
    driver.write_text(render_dynamic_harness(spec))
    try:
        start = time.perf_counter()
        art = compile_spec(spec, get_target("aarch64-sve"))
        res.compile_seconds = time.perf_counter() - start
        exe = _link(work / "kernel", spec.name, driver, art.files[".o"], art.text(".h"))
        return _Built(kernel, res, exe, art.text(".s"))
    except InternalError as exc:
        res.fail("FAILED", f"build: {exc}")
        return _Built(kernel, res, Path(), "")


def _build(kernel: BenchKernel, root: Path, baselines: bool, progress: Progress) -> list[_Built]:
    spec = kernel.spec
    work = root / spec.name
    work.mkdir()
    driver = work / "driver.c"
    driver.write_text(render_harness(spec))
    built: list[_Built] = []
    results: list[str] = []
    for impl in IMPLS if baselines else IMPLS[:1]:
        res = ImplResult(impl)
        try:
            if impl == "dwmlir":
                start = time.perf_counter()
                art = compile_spec(spec, get_target("aarch64-sve"))
                res.compile_seconds = time.perf_counter() - start
                obj, header, asm = art.files[".o"], art.text(".h"), art.text(".s")
            else:
                b = build_baseline(impl, spec, work / impl)
                if b is None:
                    res.status, res.detail = "n/a", "no such baseline for this shape"
                    built.append(_Built(kernel, res, Path(), ""))
                    continue
                res.compile_seconds, obj, header, asm = b.compile_seconds, b.obj, b.header, b.asm
            exe = _link(work / impl, spec.name, driver, obj, header)
            built.append(_Built(kernel, res, exe, asm))
            results.append(f"{impl} {res.compile_seconds:.2f}s")
        except InternalError as exc:
            res.fail("FAILED", f"build: {exc}")
            built.append(_Built(kernel, res, Path(), ""))
            results.append(f"{impl} FAILED")
    progress(f"built {spec.name}: {', '.join(results)}")
    return built


def _output_bytes(spec: ConvSpec) -> int:
    return int(np.prod(spec.output_shape)) * spec.out_bits // 8


def kernel_symbols(name: str, asm: str) -> list[str]:
    """The functions whose instructions are a call of ``name``'s: ``name``, ``NAME_part``
    when the assembly defines it (NAME may just call it, ``compile.whole_calls_part``; a
    NAME_part that NAME does not call executes nothing in a call of NAME), and the functions
    outlined from them (``rewrite.outline``: a fused expand block's GEMMs, ``NAME__ex0``...)."""
    part = name + PART_SUFFIX
    symbols = [name, part] if re.search(rf"^{re.escape(part)}:", asm, re.M) else [name]
    for s in list(symbols):
        symbols += re.findall(rf"^({re.escape(s + OUTLINED_SEPARATOR)}\w+):", asm, re.M)
    return symbols


def _count(
    b: _Built,
    bits: int,
    files: tuple[Path, Path],
    want: np.ndarray,
    inp: np.ndarray,
    flt: np.ndarray,
    dynamic: bool = False,
    cache: bool = False,
) -> None:
    """Count one kernel's instructions at ``bits`` and check its output. ``dynamic``: the
    kernel with run-time sizes, whose driver takes the filter, then the sizes, input and
    output of one call. ``cache``: run the cache model instead of the instruction counter."""
    spec, res = b.kernel.spec, b.impl
    out = b.exe.parent / f"output-{bits}{'-cache' if cache else ''}.bin"
    args = _program_args(spec, files, out, dynamic)
    start = time.perf_counter()
    try:
        if cache:
            modelled = model_cache(b.exe, args, kernel_symbols(spec.name, b.asm), bits)
        else:
            count = count_instructions(b.exe, args, kernel_symbols(spec.name, b.asm), bits)
    except InternalError as exc:
        with _LOCK:
            res.fail("FAILED", f"{'cache model' if cache else 'run'} at {bits} bits: {exc}")
        return
    seconds = time.perf_counter() - start
    got = np.frombuffer(out.read_bytes(), dtype=spec.out_np_dtype).reshape(spec.output_shape)
    cmp = compare(spec, got, want, inp, flt)
    with _LOCK:
        res.run_seconds += seconds
        if cache:
            res.cache[bits] = modelled
        else:
            res.max_abs_err[bits] = cmp.max_abs_err
            res.instructions[bits] = count.in_range
        if not cmp.ok:
            where = " (cache-model run)" if cache else ""
            res.fail("WRONG", f"{cmp.mismatches} outputs differ from numpy at {bits} bits{where}")


def _program_args(spec: ConvSpec, files: tuple[Path, Path], out: Path, dynamic: bool) -> list[str | Path]:
    """The driver's arguments for one call: input and filter files, output file; with
    ``dynamic``, the filter, then the sizes, input and output of one call."""
    if not dynamic:
        return [*files, out]
    sizes = [str(spec.input_shape[spec.info.input_layout.index(ch)]) for ch in dynamic_spec(spec).dynamic]
    in_bytes = int(np.prod(spec.input_shape)) * spec.in_bits // 8
    return [files[1], *sizes, files[0], str(in_bytes), out, str(_output_bytes(spec))]


def kernel_program(
    kernel: BenchKernel, root: Path, dynamic: bool, seed: int = 0
) -> tuple[Path, list[str | Path]]:
    """dwmlir's kernel for ``kernel`` (with run-time sizes if ``dynamic``) linked with the
    bench's driver under ``root``, and the arguments of one call on random operands."""
    built = _build_dynamic(kernel, root) if dynamic else _build(kernel, root, False, lambda _: None)[0]
    if not built.impl.ok:
        raise InternalError(f"building {kernel.name}: {built.impl.detail}")
    spec = kernel.spec
    files, _, _ = _operand_files(spec, root / spec.name, seed)
    return built.exe, _program_args(spec, files, built.exe.parent / "output.bin", dynamic)


def _operand_files(
    spec: ConvSpec, where: Path, seed: int
) -> tuple[tuple[Path, Path], np.ndarray, np.ndarray]:
    """Random input and filter for ``spec`` (``random_operands``), written to ``where`` as the
    drivers read them: (input file, filter file), input, filter."""
    inp, flt = random_operands(spec, seed)
    files = (where / "input.bin", where / "filter.bin")
    files[0].write_bytes(inp.tobytes())
    files[1].write_bytes(flt.tobytes())
    return files, inp, flt


def _mca(b: _Built, cpu: str) -> None:
    if b.impl.loop is None:
        return
    try:
        result = analyze(b.impl.loop, cpu)
    except InternalError as exc:
        with _LOCK:
            b.impl.detail = b.impl.detail or f"llvm-mca on {cpu}: {exc}"
        return
    with _LOCK:
        b.impl.mca[cpu] = result


def _warm_up() -> None:
    """One small build before the timed ones, so that the first kernel's compile time does
    not include what a process does once (checking the LLVM tools' versions, loading the
    bindings' dialects): about 0.1 s."""
    compile_spec(
        ConvSpec("depthwise_conv_1d_nwc_wc", (1, 9, 4), (3, 4), name="warm_up"), get_target("aarch64-sve")
    )


def run_bench(
    kernels: Sequence[BenchKernel],
    vector_bits: Sequence[int],
    cpus: Sequence[str],
    *,
    baselines: bool = True,
    seed: int = 0,
    jobs: int | None = None,
    progress: Progress = lambda _: None,
    dynamic: bool = True,
    cache_bits: Sequence[int] = (),
) -> list[KernelResult]:
    """Benchmark ``kernels``; statuses and numbers end up in the returned results.

    ``dynamic``: also each kernel compiled with run-time sizes, counted at the same shape.
    ``cache_bits``: vector lengths at which each static kernel and baseline also runs under
    the cache model (the slowest runs: QEMU takes its slow path for every vector element)."""
    jobs = jobs or os.cpu_count() or 1
    results: list[KernelResult] = []
    with tempfile.TemporaryDirectory(prefix="dwmlir-bench-") as tmp:
        root = Path(tmp)
        _warm_up()
        all_built = [_build(kernel, root, baselines, progress) for kernel in kernels]
        dyn_built = [_build_dynamic(kernel, root) if dynamic else None for kernel in kernels]
        with ThreadPoolExecutor(jobs) as pool:
            futures: list[Future[None]] = []
            for kernel, built, dyn in zip(kernels, all_built, dyn_built, strict=True):
                spec = kernel.spec
                files, inp, flt = _operand_files(spec, root / spec.name, seed)
                want = depthwise_reference(spec, inp, flt)
                compulsory = inp.nbytes + flt.nbytes + _output_bytes(spec)
                results.append(
                    KernelResult(kernel, [b.impl for b in built], dyn.impl if dyn else None, compulsory)
                )
                if dyn is not None and dyn.impl.ok:
                    for bits in vector_bits:
                        futures.append(pool.submit(_count, dyn, bits, files, want, inp, flt, True))
                for b in built:
                    if not b.impl.ok:
                        continue
                    b.impl.loop = hot_loop(b.asm)
                    for bits in vector_bits:
                        futures.append(pool.submit(_count, b, bits, files, want, inp, flt))
                    for bits in cache_bits:
                        futures.append(pool.submit(_count, b, bits, files, want, inp, flt, cache=True))
                    for cpu in cpus:
                        futures.append(pool.submit(_mca, b, cpu))
            progress(f"running {len(futures)} qemu and llvm-mca jobs on {jobs} threads")
            for done, fut in enumerate(futures, start=1):
                fut.result()
                if done % 100 == 0:
                    progress(f"{done}/{len(futures)} jobs done")
    return results
