"""A fuzzer for the command line itself: hypothesis draws argv lists (and batch config texts),
valid and invalid, for every verb, and checks the CLI's contract on each.

The contract: exit status 0 or 2 (1 is a dwmlir bug); on 2 exactly one line on stderr; never
a traceback; on failure nothing left in the working directory or in TMPDIR; and no
non-regular file touched (a symlink to /dev/null stays a symlink, /dev/null a device).

Each case runs ``dwmlir.cli.main.main(argv)`` in this process (starting a process per case
would cost more than most cases), in a fresh directory holding a few fixtures, with TMPDIR
pointed at an empty directory. Verbs whose valid runs take minutes (bench, demo, fuzz) get
one argument that fails at parse time, so only their argument handling is fuzzed.

    python -m dwmlir.fuzz.cli --count 5000 --seed 1
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

VERBS = ("compile", "gen", "lower", "run", "bench", "demo", "fuzz")
# Verbs whose valid runs are too slow to fuzz, and an argument each that fails at parse time.
SLOW_VERBS = {"bench": ["--seed", "-1"], "demo": ["--seed", "-1"], "fuzz": ["--count", "0"]}
FIXTURES = ("exists.txt", "null", "k.mlir", "bad.mlir", "k.toml")

_VALID_MLIR = """func.func @k(%x: tensor<1x6x4xf32>, %f: tensor<3x4xf32>, %o: tensor<1x4x4xf32>)
    -> tensor<1x4x4xf32> {
  %c = linalg.depthwise_conv_1d_nwc_wc
    {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
    ins(%x, %f : tensor<1x6x4xf32>, tensor<3x4xf32>) outs(%o : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  return %c : tensor<1x4x4xf32>
}
"""

# Per flag: values that are fine alone, then values that are wrong (drawn one time in four).
_VALUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "--op": (
        ("depthwise_conv_1d_nwc_wc", "depthwise_conv_1d_ncw_cw"),
        ("depthwise_conv_2d_nhwc_hwc", "conv", ""),
    ),
    "--input": (("1x6x4", "2x9x4"), ("1x5x5x4", "1x0x4", "1x6", "x", "1x٣x4", "99999999999x99999x99")),
    "--filter": (("3x4", "1x4"), ("3x3x4", "4x3", "9x4", "0x4", "3")),
    "--strides": (("1", "2"), ("1,1", "0", "-1", "9223372036854775808", "a")),
    "--dilations": (("1", "2"), ("1,1", "0", "18446744073709551616")),
    "--padding": (("valid", "same", "1:1"), ("1:1,1:1", "1:x", "", "9223372036854775807:1")),
    "--dtype": (("f32", "f16", "i32", "bf16"), ("i8", "f64")),
    "--out-dtype": (("f32",), ("bf16", "i8", "")),
    "--input-zp": (("0",), ("3", "-129", "٣", "x")),
    "--filter-zp": (("0",), ("-3", "200")),
    "--name": (("k", "dw_1"), ("memcpy", "int32_t", "_", "__x", "DWMLIR_K_H", "", "a-b", "dw\n", "x" * 201)),
    "--target": (("aarch64-sve", "aarch64-sve-vls256", "aarch64-neon"), ("riscv",)),
    "--cpu": (("neoverse-v1",), ("nosuchcpu",)),
    "--emit": (("obj", "header,json", "mlir", "llvm", "asm"), ("bogus", "")),
    "--vector-bits": (("128", "128,256"), ("128,128", "384", "")),
    "--mode": (("aot",), ("jit,jit", "interp")),
    "--seed": (("0", "7"), ("-1", "x")),
    "--vectorizer": (("dwmlir", "upstream"), ("none",)),
    "-j": (("1", "2"), ("0", "100000", "x")),
    "--config": (("k.toml",), ("bad.mlir", "missing.toml")),
    "--with-schedule": ((), ()),
}
_OUTPUTS = ("out", "out/sub/dir", "-", "", "exists.txt", "null", "k.mlir/x")
_VERB_FLAGS: dict[str, tuple[str, ...]] = {
    "compile": tuple(f for f in _VALUES if f not in ("--vector-bits", "--mode", "--seed", "--with-schedule")),
    "gen": tuple(
        f for f in _VALUES if f not in ("--vector-bits", "--mode", "--seed", "-j", "--config", "--emit")
    ),
    "run": tuple(f for f in _VALUES if f not in ("-j", "--config", "--emit", "--with-schedule")),
    "lower": ("--target", "--cpu", "--vectorizer", "--emit"),
    "bench": ("--vector-bits", "--seed", "-j"),
    "demo": ("--vector-bits", "--mode", "--seed"),
    "fuzz": ("--vector-bits", "--mode", "--seed", "--target", "-j"),
}
_CONFIGS = (
    '[library]\nname = "lib"\n[[kernels]]\nname = "a"\nop = "depthwise_conv_1d_nwc_wc"\n'
    'input = "1x6x4"\nfilter = "3x4"\n',
    '[library]\nname = "memcpy"\n[[kernels]]\nname = "a"\nop = "depthwise_conv_1d_nwc_wc"\n'
    'input = "1x6x4"\nfilter = "3x4"\n',
    '[library]\nname = "lib"\n[[kernels]]\nname = "a"\nop = "depthwise_conv_1d_nwc_wc"\n'
    'input = "1x2x4"\nfilter = "3x4"\n',
    "[library\n",
    "",
)


@dataclass(frozen=True)
class CliCase:
    argv: tuple[str, ...]
    config: str
    stdin: bytes


@st.composite
def cli_cases(draw) -> CliCase:
    """A verb, some of its flags with drawn values (or a random token), maybe -o."""
    verb = draw(st.sampled_from(VERBS))
    argv: list[str] = [verb]
    if verb == "lower":
        argv.append(draw(st.sampled_from(("k.mlir", "bad.mlir", "-", "missing.mlir", "exists.txt"))))
    if verb in ("compile", "gen", "run") and draw(st.integers(0, 3)) != 0:
        argv += ["--input", "1x6x4", "--filter", "3x4"]
    for flag in draw(st.lists(st.sampled_from(_VERB_FLAGS[verb]), max_size=4, unique=True)):
        good, bad = _VALUES[flag]
        if good or bad:
            wrong = not good or (bad and draw(st.integers(0, 3)) == 0)
            argv += [flag, draw(st.sampled_from(bad if wrong else good))]
        else:
            argv.append(flag)
    if (verb == "compile" and draw(st.integers(0, 7)) != 0) or (
        verb in ("gen", "lower") and draw(st.booleans())
    ):
        argv += ["-o", draw(st.sampled_from(_OUTPUTS))]
    if draw(st.integers(0, 9)) == 0:
        argv.insert(draw(st.integers(1, len(argv))), draw(st.text(max_size=8)))
    argv += SLOW_VERBS.get(verb, [])
    config = draw(st.sampled_from(_CONFIGS))
    stdin = draw(st.sampled_from((_VALID_MLIR.encode(), b"\xff\xfe", b"")))
    return CliCase(tuple(argv), config, stdin)


@dataclass(frozen=True)
class Outcome:
    status: int
    stderr: str
    violations: tuple[str, ...]


def _fixtures(work: Path, case: CliCase) -> dict[str, bytes]:
    (work / "exists.txt").write_text("keep\n")
    (work / "null").symlink_to(os.devnull)
    (work / "k.mlir").write_text(_VALID_MLIR)
    (work / "bad.mlir").write_text("func.func @k( {\n")
    (work / "k.toml").write_text(case.config)
    return {name: (work / name).read_bytes() for name in FIXTURES if name != "null"}


@contextlib.contextmanager
def _sandboxed(work: Path, tmp: Path, stdin: bytes) -> Iterator[tuple[io.StringIO, io.BytesIO]]:
    """cwd = work, TMPDIR = tmp, stdin/stdout/stderr captured; everything restored after."""
    saved = (os.getcwd(), os.environ.get("TMPDIR"), tempfile.tempdir, sys.stdin, sys.stdout, sys.stderr)
    out, err = io.BytesIO(), io.StringIO()
    os.chdir(work)
    os.environ["TMPDIR"] = str(tmp)
    tempfile.tempdir = str(tmp)
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    sys.stdout = io.TextIOWrapper(out, write_through=True)
    sys.stderr = err
    try:
        yield err, out
    finally:
        cwd, env, tempdir, sys.stdin, sys.stdout, sys.stderr = saved
        os.chdir(cwd)
        tempfile.tempdir = tempdir
        if env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = env


def check_cli_case(case: CliCase, scratch: Path) -> Outcome:
    """Run ``case`` in a fresh directory under ``scratch`` and check the contract."""
    from ..cli.main import main

    work, tmp = Path(tempfile.mkdtemp(dir=scratch)), Path(tempfile.mkdtemp(dir=scratch))
    before = _fixtures(work, case)
    null_mode = os.stat(os.devnull).st_mode
    with _sandboxed(work, tmp, case.stdin) as (err, _):
        try:
            status = main(list(case.argv))
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except BaseException as exc:  # noqa: BLE001 - an escape from main is a violation
            status = -1
            err.write(f"Traceback (escaped from main): {type(exc).__name__}: {exc}\n")
    stderr = err.getvalue()
    bad: list[str] = []
    if status not in (0, 2):
        bad.append(f"exit {status}")
    if "Traceback" in stderr:
        bad.append("traceback")
    if status == 2 and len(stderr.splitlines()) != 1:
        bad.append(f"{len(stderr.splitlines())} lines on stderr")
    if status != 0:
        extra = sorted(p.name for p in work.iterdir() if p.name not in FIXTURES)
        changed = sorted(n for n, data in before.items() if (work / n).read_bytes() != data)
        if extra or changed:
            bad.append(f"left behind: {', '.join(extra + changed)}")
    if not (work / "null").is_symlink():
        bad.append("symlink to /dev/null replaced")
    if not stat.S_ISCHR(os.stat(os.devnull).st_mode) or os.stat(os.devnull).st_mode != null_mode:
        bad.append("/dev/null touched")
    if any(tmp.iterdir()):
        bad.append(f"TMPDIR left: {', '.join(sorted(p.name for p in tmp.iterdir()))}")
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return Outcome(status, stderr, tuple(bad))


def fuzz_cli(
    count: int, seed: int, scratch: Path, statuses: dict[int, int] | None = None
) -> list[tuple[CliCase, Outcome]]:
    """Draw ``count`` cases with ``seed``; return the ones that break the contract (and count
    the exit statuses into ``statuses``)."""
    found: list[tuple[CliCase, Outcome]] = []
    statuses = {} if statuses is None else statuses

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(cli_cases())
    def one(case: CliCase) -> None:
        outcome = check_cli_case(case, scratch)
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
        if outcome.violations:
            found.append((case, outcome))

    one._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
    one()
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dwmlir.fuzz.cli", description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    statuses: dict[int, int] = {}
    with tempfile.TemporaryDirectory(prefix="dwmlir-cli-fuzz-") as scratch:
        found = fuzz_cli(args.count, args.seed, Path(scratch), statuses)
    for case, outcome in found:
        print(f"VIOLATION {'; '.join(outcome.violations)}: dwmlir {' '.join(map(repr, case.argv))}")
        print(f"  exit {outcome.status}; stderr: {' | '.join(outcome.stderr.splitlines()[:3])}")
    exits = ", ".join(f"{n} exit {status}" for status, n in sorted(statuses.items()))
    print(f"cli fuzz: {sum(statuses.values())} cases ({exits}), seed {args.seed}, {len(found)} violations")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
