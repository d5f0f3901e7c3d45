"""Differential fuzzing: random valid specs, compiled, run under qemu, compared with numpy.

Hypothesis passes with the same seed. The first runs all ``count`` examples and never
fails, so the counts describe the whole sample rather than stopping at the first bug. Then,
for each distinct failure seen (any mismatch; each kind of crash), one more pass regenerates
the same examples (answered from a cache, so nothing runs twice), fails on the first of that
kind and lets hypothesis shrink it to a minimal spec, reported as a ready-to-run
``dwmlir run`` command.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import shlex
import signal
from collections.abc import Callable, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from multiprocessing.connection import Connection

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from ..errors import ToolError, UserError
from ..run import MODES, check_vector_bits, run_spec
from ..spec import ConvSpec
from ..target import DEFAULT_TARGET, Target, get_target
from .strategies import DEFAULT_MAX_ELEMENTS, conv_specs, op_dtype_pairs, vector_lengths

MISMATCH, CRASH = "mismatch", "crash"
DEFAULT_TIMEOUT = 120.0  # seconds per example; a normal one takes 0.5 s (aot) to 5 s (jit)
DATA_SEEDS = 2**16
# Always on the command line, in this order; any other ConvSpec field only when not default.
_CORE_FIELDS = ("op", "input_shape", "filter_shape", "strides", "dilations", "dtype")


@dataclass(frozen=True)
class FuzzCase:
    """One example: a spec, the one vector length it runs at, and its random-data seed."""

    spec: ConvSpec
    vector_bits: int
    data_seed: int


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


def spec_to_cli(spec: ConvSpec, vector_bits: int, modes: Sequence[str] = ("aot",), seed: int = 0) -> str:
    """The ``dwmlir run`` command that re-runs exactly this case.

    Fields beyond the core ones (``padding``, zero points, ``name``) appear only when they
    differ from their defaults, as ``--field-name value`` with tuples joined by ','.
    """
    argv = [
        "dwmlir",
        "run",
        "--op",
        spec.op,
        "--input",
        "x".join(map(str, spec.input_shape)),
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
    argv += ["--vector-bits", str(vector_bits)]
    if tuple(modes) != ("aot",):
        argv += ["--mode", ",".join(modes)]
    if seed:
        argv += ["--seed", str(seed)]
    return shlex.join(argv)


def fuzz_cases(
    vector_bits: Sequence[int] | None = None,
    ops: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> st.SearchStrategy[FuzzCase]:
    """Spec, one vector length and a data seed per example: one VL per compile keeps a run
    short, and across examples every VL gets exercised."""
    return st.builds(
        FuzzCase,
        conv_specs(ops, dtypes, max_elements),
        vector_lengths(vector_bits),
        st.integers(0, DATA_SEEDS - 1),
    )


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


def check_case(case: FuzzCase, target: Target, modes: Sequence[str]) -> Outcome:
    """None if the kernel matches the reference, else (kind, one-line detail).

    Any error on a valid spec is our bug (a crash), except a missing or broken tool, which
    is the environment's and stops the whole run.
    """
    try:
        results = run_spec(case.spec, target, (case.vector_bits,), modes, seed=case.data_seed)
    except ToolError:
        raise
    except Exception as exc:  # noqa: BLE001 - every other error is a finding
        return CRASH, _first_line(exc)
    for r in results:
        if not r.ok:
            return MISMATCH, (
                f"{r.mode} at {r.vector_bits} bits: {r.mismatches} wrong elements, "
                f"max|err| {r.max_abs_err:.3g}, tolerance {r.tolerance:.3g}"
            )
    return None


def _child(conn: Connection, case: FuzzCase, target: Target, modes: Sequence[str]) -> None:
    os.setpgrp()  # so that a timeout also kills the tools it started (llc, qemu)
    try:
        conn.send(("done", check_case(case, target, modes)))
    except ToolError as exc:
        conn.send(("tool", str(exc)))


def check_isolated(case: FuzzCase, target: Target, modes: Sequence[str], timeout: float) -> Outcome:
    """``check_case`` in a forked child, so that a compiler that hangs (passes run in this
    process, out of reach of any subprocess timeout) or segfaults is a finding, not the end
    of the run. Forking keeps the imports (and any monkeypatching) and costs milliseconds."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, case, target, modes), daemon=True)
    proc.start()
    send.close()
    try:
        if not recv.poll(timeout):
            return CRASH, f"timed out after {timeout:g} s"
        status, payload = recv.recv()
    except EOFError:
        proc.join()
        return CRASH, f"the compile-and-run process died (exit status {proc.exitcode})"
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.join()
        recv.close()
    if status == "tool":
        raise ToolError(payload)
    return payload


class _Found(Exception):
    """Raised in a shrinking pass so that hypothesis shrinks the case it carries."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.kind}: {failure.detail}")
        self.failure = failure


def _settings(count: int, phases: tuple[Phase, ...]) -> settings:
    return settings(
        max_examples=count,
        database=None,
        derandomize=False,  # the explicit seed decides, not the test's source hash
        deadline=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        print_blob=False,
    )


def fuzz(
    count: int,
    seed: int,
    vector_bits: Sequence[int] | None = None,
    modes: Sequence[str] = ("aot",),
    on_progress: ProgressFn | None = None,
    *,
    ops: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    target: str = DEFAULT_TARGET,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> FuzzReport:
    """Run ``count`` random specs, each at one vector length; shrink what fails.

    The same arguments give the same examples and the same minimal failures. Each example
    runs in a forked process killed after ``timeout`` seconds (a crash); ``None`` runs
    them in this process, with no limit.
    """
    if count < 1:
        raise UserError(f"the number of specs must be >= 1, got {count}")
    if timeout is not None and timeout <= 0:
        raise UserError(f"the timeout must be > 0 seconds, got {timeout:g}")
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise UserError(f"unknown run mode '{bad[0] if bad else ''}': choose from {', '.join(MODES)}")
    if vector_bits is not None:
        vector_bits = check_vector_bits(vector_bits)
    op_dtype_pairs(ops, dtypes)  # bad --op/--dtype: one clear error before anything runs
    tgt, modes = get_target(target), tuple(modes)
    report = FuzzReport(seed=seed)
    cache: dict[FuzzCase, Outcome] = {}
    progress = on_progress or (lambda phase, runs, rep: None)
    cases = fuzz_cases(vector_bits, ops, dtypes, max_elements)
    first: dict[str, Failure] = {}

    def outcome(case: FuzzCase) -> tuple[Outcome, bool]:
        fresh = case not in cache
        if fresh:
            cache[case] = (
                check_case(case, tgt, modes) if timeout is None else check_isolated(case, tgt, modes, timeout)
            )
        return cache[case], fresh

    def failure(case: FuzzCase, kind: str, detail: str) -> Failure:
        cmd = spec_to_cli(case.spec, case.vector_bits, modes, case.data_seed)
        return Failure(kind, case, detail, cmd)

    @hypothesis_seed(seed)
    @_settings(count, (Phase.generate,))
    @given(cases)
    def sample(case: FuzzCase) -> None:
        result, _ = outcome(case)
        report.examples += 1
        if result is not None:
            kind, detail = result
            report.mismatches += kind == MISMATCH
            report.crashes += kind == CRASH
            first.setdefault(signature(kind, detail), failure(case, kind, detail))
        progress("generate", report.examples, report)

    def shrink(sig: str) -> Failure:
        @hypothesis_seed(seed)
        @_settings(count, (Phase.generate, Phase.shrink))
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

    sample()
    report.failures = [shrink(sig) for sig in sorted(first, key=lambda sig: sig != MISMATCH)]
    return report
