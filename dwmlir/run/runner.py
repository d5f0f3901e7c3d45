"""Run a compiled kernel on random data at several vector lengths and check it.

Two paths, both under qemu-aarch64 (or natively on an aarch64 host with SVE):
``aot`` links the object with a generated C driver; ``jit`` hands a driver module plus the
lowered kernel to the aarch64 mlir-runner. Both compare with the numpy reference.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..artefact import Artefacts, compile_spec, kernel_backend_flags, write_artefacts
from ..errors import InternalError, ToolError, UserError
from ..reference import block_reference, compare_block, random_block_operands
from ..rewrite import DEFAULT_VECTORIZER
from ..spec import MAX_ELEMENTS, BlockSpec, ConvSpec, as_block, parse_int_list
from ..target import SVE_VECTOR_BITS, Target
from ..toolchain import aarch64_runtime, exec_prefix, host_is_aarch64, run, timed_out
from ..toolchain.tools import SETUP_HINT
from .harness import link_harness, render_dynamic_harness, render_harness
from .jit import DRIVER_ENTRY, build_jit_module, parse_printed, parse_printed_runs

MODES = ("aot", "jit")
VALID_VECTOR_BITS = SVE_VECTOR_BITS


@dataclass(frozen=True)
class RunResult:
    mode: str
    vector_bits: int | None  # None: a fixed-width target (NEON, host)
    ok: bool
    max_abs_err: float
    tolerance: float
    mismatches: int
    seconds: float
    threads: int = 0  # > 0: NAME_part from that many threads, checked against one NAME call too


def parse_vector_bits(text: str, what: str = "vector lengths", check: bool = True) -> tuple[int, ...]:
    """A ``--vector-bits`` list (``128,512``), each a valid SVE length given once unless not
    ``check`` (a caller that checks them against its targets instead)."""
    bits = parse_int_list(text, what, "128,512")
    return check_vector_bits(bits) if check else bits


def check_vector_bits(values: Sequence[int]) -> tuple[int, ...]:
    bad = [v for v in values if v not in VALID_VECTOR_BITS]
    if bad or not values:
        raise UserError(
            f"invalid vector length {','.join(map(str, bad)) or '(none)'}: SVE vector lengths are "
            f"{','.join(map(str, VALID_VECTOR_BITS))} bits"
        )
    twice = sorted({v for v in values if list(values).count(v) > 1})
    if twice:
        raise UserError(f"vector length {twice[0]} is given twice: give each length once")
    return tuple(values)


def _run_aot(
    art: Artefacts,
    tmp: Path,
    operands: Sequence[np.ndarray],
    bits: Sequence[int | None],
    threads: Sequence[int] = (),
):
    """(vector bits, threads, output, seconds): one call of NAME at each VL (threads 0), then
    NAME_part from each number of ``threads``."""
    block, target = art.block, art.target
    write_artefacts(art, tmp / "kernel", emit=(".o", ".h"))
    (tmp / "driver.c").write_text(render_harness(block, parts=bool(threads)))
    exe = tmp / "driver"
    link_harness(target, tmp / "driver.c", tmp / "kernel", tmp / "kernel" / f"{block.name}.o", exe)
    files = []
    for arg, arr in zip(block.inputs, operands, strict=True):
        files.append(tmp / f"{arg.name}.bin")
        files[-1].write_bytes(np.ascontiguousarray(arr, dtype=arg.np_dtype).tobytes())
    for vb in bits:
        for n in (0, *threads) if threads else (None,):
            out = tmp / f"output-{vb}-{n}.bin"
            start = time.perf_counter()
            where = f"{vb} bits" if vb else target.name
            where += f", {n} threads" if n else ""
            first = [] if n is None else [str(n)]
            proc = run(
                [*exec_prefix(target, vb), exe, *first, *files, out], what=f"kernel at {where}", ours=True
            )
            check_ran_at(proc.stdout, vb)
            got = np.frombuffer(out.read_bytes(), dtype=block.out_np_dtype).reshape(block.output_shape)
            yield vb, n or 0, got, time.perf_counter() - start


def check_ran_at(stdout: bytes, vector_bits: int | None) -> None:
    """The driver's first line is the SVE length it ran at (``harness.dwmlir_report_vl``): a
    run asked for at ``vector_bits`` that ran at another length checked nothing there."""
    if vector_bits is None:
        return
    m = re.match(rb"dwmlir-vector-bits (\d+)\n", stdout)
    if m is None:
        raise InternalError(f"the kernel's driver did not report its vector length: {stdout[:80]!r}")
    if int(m.group(1)) != vector_bits:
        raise ToolError(
            f"the kernel ran at {int(m.group(1))}-bit vectors, not {vector_bits}: the emulator ignores "
            f"sve-default-vector-length; {SETUP_HINT} to install the pinned qemu-user, or point "
            "ARM_EMULATOR_EXECUTABLE at a qemu-aarch64 that honours it"
        )


def differing(got: np.ndarray, whole: np.ndarray) -> int:
    """Elements of ``got`` whose bits differ from ``whole``'s (NaNs compared bit for bit)."""
    a = np.ascontiguousarray(got).view(np.uint8).reshape(got.size, -1)
    b = np.ascontiguousarray(whole).view(np.uint8).reshape(whole.size, -1)
    return int(np.count_nonzero(np.any(a != b, axis=1)))


def _verdict(cmp, threads: int, got: np.ndarray, whole: np.ndarray | None) -> tuple[bool, int]:
    """(ok, wrong elements): the reference comparison ``cmp`` and, for a NAME_part run
    (``threads > 0``), the bits of one NAME call's output ``whole`` too."""
    if not threads:
        return cmp.ok, cmp.mismatches
    diff = differing(got, whole)
    return cmp.ok and diff == 0, max(cmp.mismatches, diff)


def _run_jit(
    art: Artefacts, tmp: Path, operands: Sequence[np.ndarray], bits: Sequence[int | None]
) -> list[tuple[int | None, int, np.ndarray, float]]:
    """(length, 0, output, seconds) of a JIT run at each of ``bits``."""
    spec, target = art.block, art.target
    if target.arch != "aarch64":
        raise UserError(
            f"the JIT path runs the aarch64 mlir-runner; use --mode aot for --target {target.name}"
        )
    rt = aarch64_runtime()
    module = tmp / "jit.mlir"
    utils = ("mlir_runner_utils", "mlir_c_runner_utils")
    args = ["-e", DRIVER_ENTRY, "-entry-point-result=void", "--march=aarch64", f"--mattr={art.target.mattr}"]
    args += kernel_backend_flags(spec, target)

    def runner(prefix: list[str], what: str, names: Sequence[str] = utils) -> str:
        libs = ",".join(str(rt.lib(n)) for n in names)
        return run(
            [*prefix, rt.runner, module, *args, f"-shared-libs={libs}"], what=what, ours=True
        ).stdout.decode()

    def one_per_length() -> list[tuple[int | None, int, np.ndarray, float]]:
        module.write_text(build_jit_module(spec, art.text(".llvm.mlir"), *operands))
        out = []
        for vb in bits:
            start = time.perf_counter()
            text = runner(exec_prefix(target, vb, rt), f"mlir-runner at {vb or target.name} bits")
            out.append((vb, 0, parse_printed(spec, text), time.perf_counter() - start))
        return out

    if not _jit_lengths_in_one_process(target, bits):
        return one_per_length()
    # One process sets each length in turn (``jit``): one JIT compile, not one per length;
    # each run's time is its share of the process's.
    lengths = [int(vb) for vb in bits if vb is not None]
    module.write_text(build_jit_module(spec, art.text(".llvm.mlir"), *operands, vector_bits=lengths))
    start = time.perf_counter()
    what = f"mlir-runner at {','.join(map(str, lengths))} bits"
    try:
        text = runner(exec_prefix(target, None, rt), what, (*utils, "mlir_arm_runner_utils"))  # setArmVLBits
    except InternalError as exc:
        # A crash names all the lengths: one process per length names the one that fails. If
        # none does, a timeout was the lengths' sum (those runs stand); anything else failed
        # only with the lengths in one process, which is reported as it is.
        runs = one_per_length()
        if not timed_out(exc):
            raise
        return runs
    outs = parse_printed_runs(spec, text, lengths)
    secs = (time.perf_counter() - start) / len(lengths)
    return [(vb, 0, got, secs) for vb, got in zip(lengths, outs, strict=True)]


def _jit_lengths_in_one_process(target: Target, bits: Sequence[int | None]) -> bool:
    """Whether the JIT runs at ``bits`` share one process: several lengths of a
    length-agnostic SVE target under qemu, whose ``-cpu max`` takes every length up to 2048
    bits (an SVE machine offers only some: there each length keeps its own process)."""
    return (
        target.scalable
        and not target.fixed_vl_bits
        and len(bits) > 1
        and all(vb is not None for vb in bits)
        and not host_is_aarch64()
    )


@dataclass(frozen=True)
class SizedRun:
    """One call of a kernel with run-time sizes: its input shape and how it went."""

    input_shape: tuple[int, ...]
    result: RunResult
    empty: bool  # sizes that give no output: the kernel must not write at all
    output: np.ndarray | None = None
    over_limit: bool = False  # empty because a buffer would exceed MAX_ELEMENTS (the header's rule)


def parse_run_shapes(text: str, spec: ConvSpec) -> list[tuple[int, ...]]:
    """``1x9x64,2x100x64``: the input shapes to call a kernel with run-time sizes at (sizes
    that give no output, even 0 or negative ones, check that the kernel writes nothing)."""
    layout = spec.info.input_layout
    shapes = []
    for item in text.split(","):
        parts = item.strip().split("x")
        if not all(p.lstrip("-").isdigit() for p in parts) or len(parts) != len(layout):
            raise UserError(
                f"malformed run shape '{item.strip()}': write {len(layout)} sizes joined by 'x' in layout "
                f"'{layout}', shapes joined by ',', e.g. {'x'.join(map(str, spec.input_shape))}"
            )
        shape = tuple(int(p) for p in parts)
        for ch, got, want in zip(layout, shape, spec.input_shape, strict=True):
            if ch not in spec.dynamic and got != want:
                raise UserError(
                    f"run shape '{item.strip()}': dim '{ch}' is static ({want}) in {spec.name}; only "
                    f"{','.join(spec.dynamic) or 'none'} may change"
                )
        shapes.append(shape)
    return shapes


def default_run_shapes(spec: ConvSpec) -> list[tuple[int, ...]]:
    """Three input shapes for a kernel with run-time sizes: the example, each run-time dim one
    larger, and the spatial ones 37 larger with the batch 2 larger."""
    layout = spec.info.input_layout
    ex = spec.input_shape
    plus1 = tuple(v + (ch in spec.dynamic) for ch, v in zip(layout, ex, strict=True))
    more = tuple(
        v + (0 if ch not in spec.dynamic else 2 if ch == "n" else 37)
        for ch, v in zip(layout, ex, strict=True)
    )
    return [ex, plus1, more]


def run_sizes(
    spec: ConvSpec | BlockSpec,
    target: Target,
    shapes: Sequence[tuple[int, ...]] | None = None,
    vector_bits: Sequence[int] | None = None,
    seed: int = 0,
    cpu: str | None = None,
    threads: Sequence[int] = (),
) -> list[SizedRun]:
    """Compile a kernel with run-time sizes once, then at each vector length call it at every
    input shape in one process (one driver) and compare each output with the reference for
    that shape. A shape giving an empty output passes when the kernel writes nothing.
    ``threads``: as for ``run_spec``, every shape's output also bit for bit as one call's."""
    block = as_block(spec)
    check_threads(block, ("aot",), DEFAULT_VECTORIZER, threads)
    conv = block.conv
    shapes = default_run_shapes(conv) if shapes is None else list(shapes)
    bits: Sequence[int | None] = default_vector_bits(target) if vector_bits is None else vector_bits
    if not target.scalable:
        bits = (None,)
    art = compile_spec(block, target, cpu)
    # The filter and the block's buffers are drawn once, from the example shape.
    fixed = random_block_operands(block, seed)[1:]
    cases = []
    refused: set[int] = set()  # shapes over the size limit (their output is not empty)
    for i, shape in enumerate(shapes):
        empty = any(v < 1 for v in shape) or any(v < 1 for v in conv.output_shape_for(shape))
        if not empty and over_limit(conv, shape):
            refused.add(i)
        if empty or i in refused:
            cases.append((shape, None, None, None))
            continue
        at = dataclasses.replace(block, conv=conv.at(shape))
        inp = random_block_operands(at, seed + 1 + i)[0]
        with np.errstate(invalid="ignore"):
            want = block_reference(at, inp, *fixed)
        cases.append((shape, at, inp, want))
    results: list[SizedRun] = []
    with tempfile.TemporaryDirectory(prefix="dwmlir-run-") as tmp_name:
        tmp = Path(tmp_name)
        write_artefacts(art, tmp / "kernel", emit=(".o", ".h"))
        (tmp / "driver.c").write_text(render_dynamic_harness(block, parts=bool(threads)))
        exe = tmp / "driver"
        link_harness(target, tmp / "driver.c", tmp / "kernel", tmp / "kernel" / f"{block.name}.o", exe)
        argv: list = []
        for arg, arr in zip(block.inputs[1:], fixed, strict=True):
            argv.append(tmp / f"{arg.name}.bin")
            argv[-1].write_bytes(np.ascontiguousarray(arr, dtype=arg.np_dtype).tobytes())
        calls = []
        for i, (shape, at, inp, _) in enumerate(cases):
            data = b"" if inp is None else np.ascontiguousarray(inp, dtype=conv.np_dtype).tobytes()
            (tmp / f"input-{i}.bin").write_bytes(data)
            out_bytes = 0 if at is None else math.prod(at.output_shape) * block.out_bits // 8
            sizes = [shape[conv.info.input_layout.index(ch)] for ch in conv.dynamic]
            calls.append(([*map(str, sizes), tmp / f"input-{i}.bin", str(len(data))], str(out_bytes)))
        for vb in bits:
            whole: list[np.ndarray | None] = []
            for n in (0, *threads) if threads else (None,):
                outs = [tmp / f"output-{i}-{n}.bin" for i in range(len(cases))]
                call_argv = [a for (c, size), o in zip(calls, outs, strict=True) for a in (*c, o, size)]
                start = time.perf_counter()
                where = (f"{vb} bits" if vb else target.name) + (f", {n} threads" if n else "")
                first = [] if n is None else [str(n)]
                proc = run(
                    [*exec_prefix(target, vb), exe, *first, *argv, *call_argv],
                    what=f"kernel at {where}",
                    ours=True,
                )
                check_ran_at(proc.stdout, vb)
                secs = (time.perf_counter() - start) / max(1, len(cases))
                for i, ((shape, at, inp, want), out) in enumerate(zip(cases, outs, strict=True)):
                    if at is None:
                        ok = out.read_bytes() == b""
                        result = RunResult("aot", vb, ok, 0.0, 0.0, 0 if ok else 1, secs, n or 0)
                        nothing = np.zeros((0,), block.out_np_dtype)
                        results.append(SizedRun(shape, result, True, nothing, i in refused))
                        whole.append(None)
                        continue
                    got = np.frombuffer(out.read_bytes(), dtype=block.out_np_dtype).reshape(at.output_shape)
                    cmp = compare_block(at, got, want, [inp, *fixed])
                    ok, bad = _verdict(cmp, n or 0, got, whole[i] if n else None)
                    if not n:
                        whole.append(got)
                    result = RunResult("aot", vb, ok, cmp.max_abs_err, cmp.tolerance, bad, secs, n or 0)
                    results.append(SizedRun(shape, result, False, got))
    return results


def over_limit(conv: ConvSpec, shape: tuple[int, ...]) -> bool:
    """Whether input ``shape`` gives an input or output of more than ``MAX_ELEMENTS``
    elements, sizes a kernel refuses without reading or writing (its header says so)."""
    out = conv.output_shape_for(shape)
    if any(v < 1 for v in (*shape, *out)):
        return False
    return math.prod(shape) > MAX_ELEMENTS or math.prod(out) > MAX_ELEMENTS


def default_vector_bits(target: Target) -> tuple[int | None, ...]:
    """Where to run by default: four VLs (VLA), the one VL (VLS), or once (fixed width)."""
    if target.fixed_vl_bits:
        return (target.fixed_vl_bits,)
    if target.scalable:
        return (128, 256, 512, 2048)
    return (None,)


def target_vector_bits(
    target: Target, vector_bits: Sequence[int] | None, default: Sequence[int] | None = None
) -> tuple[int | None, ...]:
    """Where to run on ``target``: ``vector_bits`` if it may run there, else a UserError (a
    fixed-width target takes none, a VLS one only its own); without them ``default`` (SVE
    lengths for an SVE target that runs at any) or ``default_vector_bits``."""
    if not target.scalable:
        if vector_bits is not None:
            raise UserError(
                f"target {target.name} has fixed-width vectors: drop --vector-bits (it applies to the "
                "SVE targets)"
            )
        return (None,)
    if vector_bits is None:
        if default is None or target.fixed_vl_bits:
            return default_vector_bits(target)
        return check_vector_bits(default)
    bits = check_vector_bits(vector_bits)
    if target.fixed_vl_bits and any(b != target.fixed_vl_bits for b in bits):
        raise UserError(
            f"target {target.name} runs only at {target.fixed_vl_bits} bits: drop --vector-bits or use "
            f"--vector-bits {target.fixed_vl_bits} (aarch64-sve runs at any vector length)"
        )
    return bits


def run_spec(
    spec: ConvSpec | BlockSpec,
    target: Target,
    vector_bits: Sequence[int] | None = None,
    modes: Sequence[str] = ("aot",),
    seed: int = 0,
    cpu: str | None = None,
    vectorizer: str = DEFAULT_VECTORIZER,
    threads: Sequence[int] = (),
) -> list[RunResult]:
    """Compile once, run each mode at each vector length on random data seeded by ``seed``,
    compare with the reference. ``threads``: also call ``NAME_part`` from each number of
    threads (aot), each output compared bit for bit with one call of NAME.

    Fixed-width targets (NEON, host) run once whatever ``vector_bits`` says.
    """
    inp, flt, *params = random_block_operands(as_block(spec), seed)
    results = run_on_data(
        spec, target, inp, flt, vector_bits, modes, cpu, vectorizer, params=params, threads=threads
    )
    return [r for r, _ in results]


def check_threads(block: BlockSpec, modes: Sequence[str], vectorizer: str, threads: Sequence[int]) -> None:
    """Refuse ``--threads`` where there is no ``NAME_part`` to call."""
    if not threads:
        return
    bad = [n for n in threads if n < 1]
    if bad:
        raise UserError(f"--threads {bad[0]}: give thread counts of at least 1")
    if tuple(modes) != ("aot",):
        raise UserError("--threads calls NAME_part from a C driver's threads: use --mode aot")
    if vectorizer != DEFAULT_VECTORIZER:
        raise UserError(
            f"--vectorizer {vectorizer} builds no NAME_part: use --vectorizer {DEFAULT_VECTORIZER}"
        )
    if not block.has_part:
        raise UserError(
            f"{block.name} has an expand stage, which carries its window from tile to tile, so it has "
            "no NAME_part (it cannot split its work yet): drop --threads"
        )


def run_on_data(
    spec: ConvSpec | BlockSpec,
    target: Target,
    inp: np.ndarray,
    flt: np.ndarray,
    vector_bits: Sequence[int] | None = None,
    modes: Sequence[str] = ("aot",),
    cpu: str | None = None,
    vectorizer: str = DEFAULT_VECTORIZER,
    params: Sequence[np.ndarray] = (),
    threads: Sequence[int] = (),
) -> list[tuple[RunResult, np.ndarray]]:
    """``run_spec`` on given operands (e.g. with NaN or Inf); each result with its output.

    ``params``: the epilogue's buffers of a block, in ABI order (bias, requant_scale).
    """
    block = as_block(spec)
    check_threads(block, modes, vectorizer, threads)
    operands = [inp, flt, *params]
    if len(operands) != len(block.inputs):
        names = ", ".join(a.name for a in block.inputs[2:])
        raise UserError(f"{block.name} takes {names or 'no epilogue buffers'}: pass them as params")
    bits = target_vector_bits(target, vector_bits)
    art = compile_spec(block, target, cpu, vectorizer)
    with np.errstate(invalid="ignore"):  # NaN from Inf * 0 or Inf - Inf, as in the kernel
        want = block_reference(block, *operands)
    results: list[tuple[RunResult, np.ndarray]] = []
    with tempfile.TemporaryDirectory(prefix="dwmlir-run-") as tmp_name:
        for mode in modes:
            tmp = Path(tmp_name) / mode
            tmp.mkdir()
            runs = (
                _run_aot(art, tmp, operands, bits, threads)
                if mode == "aot"
                else _run_jit(art, tmp, operands, bits)
            )
            whole: dict[int | None, np.ndarray] = {}
            for vb, n, got, secs in runs:
                cmp = compare_block(block, got, want, operands)
                ok, bad = _verdict(cmp, n, got, whole.get(vb))
                if not n:
                    whole[vb] = got
                result = RunResult(mode, vb, ok, cmp.max_abs_err, cmp.tolerance, bad, secs, n)
                results.append((result, got))
    return results
