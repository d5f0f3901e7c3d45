"""``dwmlir fuzz``: differential fuzzing of the whole flow against the numpy reference.

Kept out of ``main.py`` so the command is one import and two lines there; it imports
nothing from ``main`` (which imports it) and loads hypothesis only when it runs.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from ..errors import UserError
from . import types

PROGRESS_EVERY = 10


BLOCK_MODES = ("mixed", "only", "none")  # how often a spec is a fused block


def add_fuzz_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``fuzz`` subcommand to ``build_parser()``'s subparsers."""
    p = subparsers.add_parser(
        "fuzz",
        help="run random valid specs at random vector lengths against the numpy reference",
        description="Draw COUNT random valid specs (every supported op and element type, small "
        "shapes, strides, dilations, padding, zero points, channel counts around vector-lane "
        "boundaries), compile each for a random target, run it at one random SVE vector length, "
        "and compare with numpy. Failures are shrunk to a minimal spec and printed as a "
        "'dwmlir run' command. The same seed gives the same specs, whatever -j is. Exits 0 only "
        "when every spec matches.",
    )
    g = p.add_argument_group("fuzzing")
    g.add_argument(
        "--count", type=types.integer, default=100, metavar="N", help="specs to run (default: %(default)s)"
    )
    g.add_argument(
        "--seed", type=types.seed, default=0, metavar="S", help="hypothesis seed (default: %(default)s)"
    )
    g.add_argument(
        "--vector-bits",
        default=None,
        metavar="BITS[,BITS...]",
        help="vector lengths to pick one from per spec (default: 128,256,512,1024,2048)",
    )
    g.add_argument(
        "--mode",
        default="aot",
        metavar="MODE[,MODE...]",
        help="aot (object + C driver), jit (aarch64 mlir-runner) or aot,jit (default: %(default)s)",
    )
    g.add_argument(
        "--timeout",
        type=types.real,
        default=120.0,
        metavar="SECONDS",
        help="per spec; a spec that takes longer (a hanging compiler) is a crash (default: %(default)g)",
    )
    g.add_argument(
        "--target",
        default=None,
        metavar="TARGET[,TARGET...]",
        help="targets to draw from: target names (see 'dwmlir compile --help'), or aarch64-sve-vls for "
        "the vector-length-specific build at the drawn vector length (default: aarch64-sve, "
        "aarch64-sve-vls, aarch64-sve2, aarch64-neon, host; host is left out with --mode jit)",
    )
    g.add_argument(
        "-j",
        "--jobs",
        type=types.integer,
        default=1,
        metavar="N",
        help="specs compiled and run at once, each in its own process (default: %(default)s)",
    )
    g.add_argument(
        "--blocks",
        default="mixed",
        choices=BLOCK_MODES,
        help="fused blocks (epilogues, pointwise convs): drawn for some specs (mixed, the default), "
        "for every spec (only) or never (none)",
    )
    g.add_argument("--op", default=None, metavar="OP[,OP...]", help="ops to draw (default: all supported)")
    g.add_argument(
        "--dtype", default=None, metavar="TYPE[,TYPE...]", help="element types (default: all supported)"
    )
    return p


def _names(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(t.strip() for t in text.split(",") if t.strip())


def _check_targets_take(bits: tuple[int, ...], targets: tuple[str, ...]) -> None:
    """--vector-bits next to a --target that cannot run at those lengths is an error, not ignored."""
    from ..fuzz.strategies import VLS_FAMILY
    from ..target import get_target

    for name in targets:
        if name == VLS_FAMILY:
            continue
        target = get_target(name)
        if not target.scalable:
            raise UserError(f"--vector-bits does not apply to --target {name}: it has fixed-width vectors")
        if target.fixed_vl_bits and target.fixed_vl_bits not in bits:
            raise UserError(
                f"--target {name} runs only at {target.fixed_vl_bits} bits, not at --vector-bits "
                f"{','.join(map(str, bits))}: use {VLS_FAMILY} for the VL-specific build at each length"
            )


def cmd_fuzz(args: argparse.Namespace) -> int:
    try:
        from ..fuzz import FuzzReport, fuzz
    except ModuleNotFoundError as exc:
        if exc.name != "hypothesis":
            raise
        raise UserError("dwmlir fuzz needs hypothesis (the 'dev' extra): pip install -e '.[dev]'") from None
    from ..run import parse_vector_bits

    if args.count < 1:
        raise UserError(f"--count must be >= 1, got {args.count}")
    if not args.timeout > 0 or not math.isfinite(args.timeout):
        raise UserError(f"--timeout must be > 0 seconds and finite, got {args.timeout:g}")
    if args.jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {args.jobs}")
    bits = parse_vector_bits(args.vector_bits, check=False) if args.vector_bits is not None else None
    if bits is not None:
        _check_targets_take(bits, _names(args.target) or ())
    modes = tuple(m.strip() for m in args.mode.split(","))

    printed = 0

    def progress(phase: str, runs: int, report: FuzzReport) -> None:
        nonlocal printed
        # With -j, or a spec drawn twice, ``runs`` can step over a multiple of PROGRESS_EVERY.
        if phase == "generate" and (runs // PROGRESS_EVERY > printed // PROGRESS_EVERY or runs == args.count):
            printed = runs
            print(
                f"fuzz: {runs}/{args.count} specs, {report.mismatches} mismatches, {report.crashes} crashes",
                flush=True,
            )
        elif phase == "shrink" and runs % PROGRESS_EVERY == 0:
            print(f"fuzz: shrinking, {runs} runs", flush=True)

    report = fuzz(
        args.count,
        args.seed,
        bits,
        modes,
        progress,
        ops=_names(args.op),
        dtypes=_names(args.dtype),
        targets=_names(args.target),
        timeout=args.timeout,
        jobs=args.jobs,
        blocks=args.blocks,
    )
    if report.failures:
        print(f"fuzz: shrunk {len(report.failures)} failure(s) in {report.shrink_runs} new runs")
    print(report.summary())
    for f in report.failures:
        print(f"minimal {f.kind} ({f.detail}):")
        print(f"  {f.command}")
    return 0 if report.ok else 1
