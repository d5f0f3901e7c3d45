"""Differential fuzzing: random valid specs, compiled, run under qemu, compared with numpy.

Hypothesis passes with the same seed. The first only draws the ``count`` examples; they are
then compiled and run, ``jobs`` at a time, each in its own process, and all counted, so the
counts describe the whole sample rather than stopping at the first bug. Then, for each
distinct failure seen (any mismatch; each kind of crash), one more pass regenerates the same
examples (answered from the results, so nothing runs twice), fails on the first of that kind
and lets hypothesis shrink it to a minimal spec, reported as a ready-to-run ``dwmlir run``
command.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import shlex
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from multiprocessing.connection import Connection, wait

from hypothesis import Phase, given
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from ..errors import ToolCrash, ToolError, UserError
from ..run import MODES, check_vector_bits, run_spec
from ..run.runner import run_sizes
from ..spec import SUPPORTED_DTYPES, Activation, BlockSpec, ConvSpec, as_block
from ..target import DEFAULT_TARGET, get_target
from .strategies import (
    DEFAULT_MAX_ELEMENTS,
    TARGET_CHOICES,
    block_parts,
    check_target_choices,
    conv_specs,
    examples,
    fuzz_settings,
    op_dtype_pairs,
    runs_bf16,
    targets_and_vector_lengths,
)

MISMATCH, CRASH = "mismatch", "crash"
DEFAULT_TIMEOUT = 120.0  # seconds per example; a normal one takes 0.5 s (aot) to 5 s (jit)
DATA_SEEDS = 2**16
# Always on the command line, in this order; any other ConvSpec field only when not default.
_CORE_FIELDS = ("op", "input_shape", "filter_shape", "strides", "dilations", "dtype")


@dataclass(frozen=True)
class FuzzCase:
    """One example: a spec, its target, the one vector length it runs at (``None`` on
    fixed-width targets) and its random-data seed."""

    spec: BlockSpec
    target: str
    vector_bits: int | None
    data_seed: int
    # A kernel with run-time sizes: the input shapes one driver calls it at.
    sizes: tuple[tuple[int, ...], ...] = ()
    # > 0: NAME_part from this many threads too, bit for bit as one call (aot runs only).
    threads: int = 0


@dataclass(frozen=True)
class Failure:
    """A (minimal) failing case, with the ``dwmlir run`` command that reproduces it."""

    kind: str  # MISMATCH or CRASH
    case: FuzzCase
    detail: str
    command: str


@dataclass
class FuzzReport:
    """Counts over the ``count`` sampled examples; ``failures`` holds the shrunk ones."""

    seed: int
    examples: int = 0
    mismatches: int = 0
    crashes: int = 0
    shrink_runs: int = 0
    failures: list[Failure] = field(default_factory=list)  # minimal ones, one per signature

    def tally(self, result: Outcome, times: int = 1) -> None:
        """Count ``times`` examples with this outcome."""
        self.examples += times
        self.mismatches += times * (result is not None and result[0] == MISMATCH)
        self.crashes += times * (result is not None and result[0] == CRASH)

    @property
    def ok(self) -> bool:
        return self.mismatches == 0 and self.crashes == 0

    @property
    def minimal(self) -> Failure | None:
        return self.failures[0] if self.failures else None

    def summary(self) -> str:
        return f"fuzz: {self.examples} specs, {self.mismatches} mismatches, {self.crashes} crashes"


# on_progress(phase, runs, report): phase "generate" (runs = examples so far) or "shrink"
# (runs = new compile-and-run calls made while shrinking).
ProgressFn = Callable[[str, int, FuzzReport], None]
Outcome = tuple[str, str] | None


def _flag_value(value: object) -> str:
    """Tuples joined by ',' (strides), pairs of them as LO:HI (padding), as the CLI parses them."""
    if isinstance(value, tuple):
        return ",".join(":".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in value)
    return str(value)


def _is_default(spec: ConvSpec, f: Field[object]) -> bool:
    """Whether a field means its default; compared after ConvSpec normalises it (``()`` padding
    becomes ``((0, 0),)``), so a spec is rebuilt with the default rather than compared raw."""
    if f.default is not MISSING:
        default = f.default
    elif f.default_factory is not MISSING:
        default = f.default_factory()
    else:
        return False
    try:
        return getattr(replace(spec, **{f.name: default}), f.name) == getattr(spec, f.name)
    except UserError:  # e.g. the input is only large enough with its padding
        return False


def spec_to_cli(
    spec: ConvSpec | BlockSpec,
    vector_bits: int | None,
    modes: Sequence[str] = ("aot",),
    seed: int = 0,
    target: str = DEFAULT_TARGET,
    sizes: Sequence[tuple[int, ...]] = (),
    threads: int = 0,
) -> str:
    """The ``dwmlir run`` command that re-runs exactly this case.

    Fields beyond the core ones (``padding``, zero points, ``name``) appear only when they
    differ from their defaults, as ``--field-name value`` with tuples joined by ','; so do
    the target and the vector length (none on fixed-width targets), and the parts of a
    block's epilogue.
    """
    block = as_block(spec)
    spec = block.conv
    argv = [
        "dwmlir",
        "run",
        "--op",
        spec.op,
        "--input",
        "x".join(map(str, block.input_shape)),
        "--filter",
        "x".join(map(str, spec.filter_shape)),
        "--strides",
        _flag_value(spec.strides),
        "--dilations",
        _flag_value(spec.dilations),
        "--dtype",
        spec.dtype,
    ]
    for f in fields(ConvSpec):
        if f.init and f.name not in _CORE_FIELDS and not _is_default(spec, f):
            argv += [f"--{f.name.replace('_', '-')}", _flag_value(getattr(spec, f.name))]
    argv += _epilogue_flags(block)
    if target != DEFAULT_TARGET:
        argv += ["--target", target]
    if vector_bits is not None:
        argv += ["--vector-bits", str(vector_bits)]
    if tuple(modes) != ("aot",):
        argv += ["--mode", ",".join(modes)]
    if seed:
        argv += ["--seed", str(seed)]
    if sizes:
        argv += ["--sizes", ",".join("x".join(map(str, s)) for s in sizes)]
    if threads:
        argv += ["--threads", str(threads)]
    return shlex.join(argv)


def _activation_text(act: Activation) -> str:
    return f"clamp:{act.lo!r}:{act.hi!r}" if act.kind == "clamp" else act.kind


def _epilogue_flags(block: BlockSpec) -> list[str]:
    epi = block.epilogue
    flags = ["--bias"] if epi.bias else []
    if epi.activation.kind != "none":
        flags += ["--activation", _activation_text(epi.activation)]
    pw = block.pointwise
    if pw is not None:
        flags += ["--pointwise", str(pw.cout)]
        flags += ["--pointwise-bias"] if pw.epilogue.bias else []
        if pw.epilogue.activation.kind != "none":
            flags += ["--pointwise-activation", _activation_text(pw.epilogue.activation)]
        if pw.epilogue.requantize:
            if pw.epilogue.output_zp != epi.output_zp:
                flags += ["--pointwise-output-zp", str(pw.epilogue.output_zp)]
            if pw.epilogue.output_scale is not None:
                flags += ["--pointwise-output-scale", repr(pw.epilogue.output_scale)]
    flags += ["--residual"] if block.residual else []
    ex = block.expand
    if ex is not None:
        flags += ["--expand", str(ex.cin)]
        flags += ["--expand-bias"] if ex.epilogue.bias else []
        if ex.epilogue.activation.kind != "none":
            flags += ["--expand-activation", _activation_text(ex.epilogue.activation)]
    if epi.requantize:
        flags += ["--requantize"]
        flags += ["--output-zp", str(epi.output_zp)] if epi.output_zp else []
        flags += ["--output-scale", repr(epi.output_scale)] if epi.output_scale is not None else []
    return flags


@st.composite
def fuzz_cases(
    draw: st.DrawFn,
    vector_bits: Sequence[int] | None = None,
    ops: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    targets: Sequence[str] | None = None,
    blocks: str = "mixed",
) -> FuzzCase:
    """Spec, target, one vector length and a data seed per example: one VL per compile keeps
    a run short, and across examples every target and VL gets exercised."""
    choices = tuple(targets) if targets else TARGET_CHOICES
    if not any(runs_bf16(t) for t in choices):  # bf16 is built for SVE only
        dtypes = [d for d in (SUPPORTED_DTYPES if dtypes is None else dtypes) if d != "bf16"]
    conv = draw(conv_specs(ops, dtypes, max_elements, wide=blocks != "none"))
    if conv.dtype == "bf16":
        choices = tuple(t for t in choices if runs_bf16(t))
    target, bits = draw(targets_and_vector_lengths(choices, vector_bits))
    seed = draw(st.integers(0, DATA_SEEDS - 1))
    # The block's parts come last, so that they do not change how the conv shrinks.
    spec = draw(block_parts(conv, blocks == "only")) if blocks != "none" else as_block(conv)
    # A third of the kernels with a NAME_part also run it from 2, 3 or 7 threads.
    threads = draw(st.sampled_from((0, 0, 0, 0, 0, 0, 2, 3, 7))) if spec.has_part else 0
    if (
        spec.pointwise is None and spec.expand is None and not spec.residual and draw(st.integers(0, 2)) == 2
    ):  # a third: run-time sizes
        spec, sizes = draw(dynamic_parts(spec))
        return FuzzCase(spec, target, bits, seed, sizes, threads)
    return FuzzCase(spec, target, bits, seed, threads=threads)


@st.composite
def dynamic_parts(draw: st.DrawFn, block: BlockSpec) -> tuple[BlockSpec, tuple[tuple[int, ...], ...]]:
    """The block with some of n and the spatial dims given at run time, and the input shapes
    to call it at: its own, then two more with those dims redrawn (at most twice as large,
    down to sizes that give an empty output, which must leave the output untouched)."""
    conv = block.conv
    layout = conv.info.input_layout
    letters = [ch for ch in layout if ch in "ndhw"]
    chosen = [ch for ch in letters if draw(st.booleans())] or [letters[-1]]
    dyn = replace(conv, dynamic=tuple(chosen))
    shapes = [conv.input_shape]
    for _ in range(2):
        shapes.append(
            tuple(
                draw(st.integers(0, 2 * v)) if ch in chosen else v
                for ch, v in zip(layout, conv.input_shape, strict=True)
            )
        )
    return replace(block, conv=dyn), tuple(shapes)


def signature(kind: str, detail: str) -> str:
    """Which failures count as the same bug, to shrink each separately: every mismatch is
    one; a crash is its message up to the first number or '(' (sizes, SSA names and line
    numbers follow), so a timeout and a failing mlir-translate are two."""
    if kind == MISMATCH:
        return MISMATCH
    return f"{kind}: {re.split(r'[0-9(]', detail, maxsplit=1)[0].strip()}"


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip()
    line = f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
    return line if len(line) <= limit else line[: limit - 3] + "..."


def check_case(case: FuzzCase, modes: Sequence[str]) -> Outcome:
    """None if the kernel matches the reference, else (kind, one-line detail).

    Any error on a valid spec is our bug (a crash), except a missing or broken tool, which
    is the environment's and stops the whole run.
    """
    bits = None if case.vector_bits is None else (case.vector_bits,)
    try:
        aot = bool(case.sizes) or tuple(modes) == ("aot",)  # run-time sizes: aot only
        threads = (case.threads,) if case.threads and aot else ()
        target = get_target(case.target)
        if case.sizes:
            sized = run_sizes(case.spec, target, case.sizes, bits, seed=case.data_seed, threads=threads)
            results = [s.result for s in sized]
        else:
            results = run_spec(case.spec, target, bits, modes, seed=case.data_seed, threads=threads)
    except ToolCrash as exc:  # a tool that crashes or hangs on a valid spec: a finding
        return CRASH, _first_line(exc)
    except ToolError:
        raise
    except Exception as exc:  # noqa: BLE001 - every other error is a finding
        return CRASH, _first_line(exc)
    for r in results:
        if not r.ok:
            who = f"NAME_part from {r.threads} threads, " if r.threads else ""
            where = f"at {r.vector_bits} bits" if r.vector_bits else f"on {case.target}"
            return MISMATCH, (
                f"{who}{r.mode} {where}: {r.mismatches} wrong elements, "
                f"max|err| {r.max_abs_err:.3g}, tolerance {r.tolerance:.3g}"
            )
    return None


def _child(conn: Connection, case: FuzzCase, modes: Sequence[str], scratch: str | None) -> None:
    os.setpgrp()  # so that a timeout also kills the tools it started (llc, qemu)
    for sig in (signal.SIGTERM, signal.SIGHUP):  # the CLI's handlers unwind dwmlir, not this child
        signal.signal(sig, signal.SIG_DFL)
    if scratch is not None:  # a killed child cannot clean up; the parent removes this later
        tempfile.tempdir = scratch
    try:
        conn.send(("done", check_case(case, modes)))
    except ToolError as exc:
        conn.send(("tool", str(exc)))


class _Child:
    """``check_case`` in a forked process, so that a compiler that hangs (passes run in
    this process, out of reach of any subprocess timeout) or segfaults is a finding, not the
    end of the run. Forking keeps the imports (and any monkeypatching) and costs
    milliseconds."""

    def __init__(self, case: FuzzCase, modes: Sequence[str], scratch: str | None = None) -> None:
        ctx = multiprocessing.get_context("fork")
        self.recv, send = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_child, args=(send, case, modes, scratch), daemon=True)
        self.proc.start()
        send.close()

    def result(self, timed_out: bool, timeout: float) -> Outcome:
        """Collect the outcome (the pipe is readable, or ``timed_out``) and clean up."""
        try:
            if timed_out:
                return CRASH, f"timed out after {timeout:g} s"
            status, payload = self.recv.recv()
        except EOFError:
            self.proc.join()
            return CRASH, f"the compile-and-run process died (exit status {self.proc.exitcode})"
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.join()
            self.recv.close()
        if status == "tool":
            raise ToolError(payload)
        return payload


def check_isolated(
    case: FuzzCase, modes: Sequence[str], timeout: float, scratch: str | None = None
) -> Outcome:
    """``check_case`` in a forked child, killed after ``timeout`` seconds; its temporary
    files go under ``scratch`` when given."""
    child = _Child(case, modes, scratch)
    return child.result(not child.recv.poll(timeout), timeout)


def check_all(
    cases: Sequence[FuzzCase],
    modes: Sequence[str],
    timeout: float,
    jobs: int,
    on_result: Callable[[FuzzCase, Outcome], None] = lambda case, outcome: None,
    scratch: str | None = None,
) -> dict[FuzzCase, Outcome]:
    """Outcomes of ``cases``, ``jobs`` forked children at a time, each killed after
    ``timeout`` seconds; ``on_result`` is called as each one finishes."""
    todo = list(dict.fromkeys(cases))[::-1]
    running: dict[Connection, tuple[FuzzCase, _Child, float]] = {}
    done: dict[FuzzCase, Outcome] = {}
    try:
        while todo or running:
            while todo and len(running) < jobs:
                case = todo.pop()
                child = _Child(case, modes, scratch)
                running[child.recv] = (case, child, time.monotonic() + timeout)
            now = time.monotonic()
            ready = wait(list(running), max(0.0, min(d for _, _, d in running.values()) - now))
            for conn in list(running):
                case, child, deadline = running[conn]
                if conn in ready or time.monotonic() >= deadline:
                    del running[conn]
                    done[case] = child.result(conn not in ready, timeout)
                    on_result(case, done[case])
    finally:
        for _, child, _ in running.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, signal.SIGKILL)
    return done


class _Found(Exception):
    """Raised in a shrinking pass so that hypothesis shrinks the case it carries."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.kind}: {failure.detail}")
        self.failure = failure


def fuzz(
    count: int,
    seed: int,
    vector_bits: Sequence[int] | None = None,
    modes: Sequence[str] = ("aot",),
    on_progress: ProgressFn | None = None,
    *,
    ops: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    targets: Sequence[str] | None = None,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    timeout: float | None = DEFAULT_TIMEOUT,
    jobs: int = 1,
    blocks: str = "mixed",
) -> FuzzReport:
    """Run ``count`` random specs, each on one target at one vector length; shrink failures.

    The same arguments give the same examples and the same minimal failures, whatever
    ``jobs`` is. Each example runs in a forked process killed after ``timeout`` seconds (a
    crash); ``None`` runs them one by one in this process, with no limit. Temporary files
    of every example live in one private directory, removed at the end even when an
    example was killed.
    """
    if count < 1:
        raise UserError(f"the number of specs must be >= 1, got {count}")
    if timeout is not None and timeout <= 0:
        raise UserError(f"the timeout must be > 0 seconds, got {timeout:g}")
    if jobs < 1:
        raise UserError(f"the number of jobs must be >= 1, got {jobs}")
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise UserError(f"unknown run mode '{bad[0] if bad else ''}': choose from {', '.join(MODES)}")
    if vector_bits is not None:
        vector_bits = check_vector_bits(vector_bits)
    op_dtype_pairs(ops, dtypes)  # bad --op/--dtype: one clear error before anything runs
    modes = tuple(modes)
    targets = _targets_for(targets, modes)
    if dtypes is not None and set(dtypes) == {"bf16"} and not any(runs_bf16(t) for t in targets):
        raise UserError(
            "bf16 is built for the SVE targets only: add --target aarch64-sve (or aarch64-sve-vls, "
            "aarch64-sve2), or fuzz another --dtype"
        )
    with tempfile.TemporaryDirectory(prefix="dwmlir-fuzz-") as scratch:
        report = FuzzReport(seed=seed)
        cache: dict[FuzzCase, Outcome] = {}
        progress = on_progress or (lambda phase, runs, rep: None)
        cases = fuzz_cases(vector_bits, ops, dtypes, max_elements, targets, blocks)
        first: dict[str, Failure] = {}

        def outcome(case: FuzzCase) -> tuple[Outcome, bool]:
            fresh = case not in cache
            if fresh:
                cache[case] = (
                    check_case(case, modes)
                    if timeout is None
                    else check_isolated(case, modes, timeout, scratch)
                )
            return cache[case], fresh

        def failure(case: FuzzCase, kind: str, detail: str) -> Failure:
            run_modes = ("aot",) if case.sizes else modes  # run-time sizes: aot only
            threads = case.threads if tuple(run_modes) == ("aot",) else 0
            cmd = spec_to_cli(
                case.spec, case.vector_bits, run_modes, case.data_seed, case.target, case.sizes, threads
            )
            return Failure(kind, case, detail, cmd)

        drawn: list[FuzzCase] = examples(cases, count, seed)
        running, times = FuzzReport(seed=seed), Counter(drawn)

        def finished(case: FuzzCase, result: Outcome) -> None:
            running.tally(result, times[case])
            progress("generate", running.examples, running)

        if timeout is None:
            for case in dict.fromkeys(drawn):
                finished(case, outcome(case)[0])
        else:
            cache.update(check_all(drawn, modes, timeout, jobs, finished, scratch))

        for case in drawn:  # in draw order, so ``first`` holds the earliest case of each kind
            result = cache[case]
            report.tally(result)
            if result is not None:
                first.setdefault(signature(*result), failure(case, *result))

        def shrink(sig: str) -> Failure:
            @hypothesis_seed(seed)
            @fuzz_settings(count, (Phase.generate, Phase.shrink))
            @given(cases)
            def replay(case: FuzzCase) -> None:
                result, fresh = outcome(case)
                if fresh:
                    report.shrink_runs += 1
                    progress("shrink", report.shrink_runs, report)
                if result is not None and signature(*result) == sig:
                    raise _Found(failure(case, *result))

            try:
                replay()
            except _Found as exc:
                return exc.failure
            return first[sig]  # not reproduced: cannot happen with the same seed and the cache

        report.failures = [shrink(sig) for sig in sorted(first, key=lambda sig: sig != MISMATCH)]
        return report


def _targets_for(targets: Sequence[str] | None, modes: Sequence[str]) -> tuple[str, ...]:
    """The targets to draw from: validated, and without ``host`` for the (aarch64) JIT."""
    if targets is None:
        return tuple(t for t in TARGET_CHOICES if "jit" not in modes or _target_arch(t) == "aarch64")
    chosen = check_target_choices(targets)
    if "jit" in modes and any(_target_arch(t) != "aarch64" for t in chosen):
        raise UserError("--mode jit runs the aarch64 mlir-runner: drop the host target or use --mode aot")
    return chosen


def _target_arch(name: str) -> str:
    return "aarch64" if name.startswith("aarch64-sve-vls") else get_target(name).arch
