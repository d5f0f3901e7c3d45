"""``dwmlir bench``: instruction counts, llvm-mca and baselines for a set of depthwise convs.

Kept out of ``main.py`` so the command is one import and two lines there; it imports nothing
from ``main``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import ToolError, UserError
from . import types

DEFAULT_VECTOR_BITS = "128,256,512,1024,2048"
DEFAULT_CACHE_BITS = "128,512"


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to ``build_parser()``'s subparsers."""
    p = subparsers.add_parser(
        "bench",
        help="benchmark kernels: instruction counts per VL, llvm-mca, C baselines",
        description="For each kernel of the benchmark set (MobileNetV2's depthwise layers, 1-D "
        "K=7 and K=31, 3-D 3x3x3; f32, valid padding), build dwmlir's kernel and three C "
        "baselines from bench/ (plain loops autovectorized by clang 22; hand-written SVE ACLE in "
        "column blocks, acle, and in row blocks swept along W, acle_rb), check every one against "
        "numpy at every vector length, count the instructions executed inside the kernel under "
        "qemu (per output element), and run llvm-mca on each hot loop. The report compares dwmlir "
        "with the strongest hand-written baseline per kernel and says where it stands against "
        "each performance target (met / NOT MET). The full set takes a few minutes; --quick "
        "about 20 s. Exits 0 only when every kernel "
        "and baseline matches numpy (a target not met is not a failure). See docs/performance.md.",
    )
    _add_flags(p)
    return p


def _add_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("benchmarking")
    g.add_argument(
        "--set",
        choices=("kernels", "blocks"),
        default="kernels",
        help="kernels: depthwise convs against C baselines (default); blocks: fused "
        "depthwise-separable blocks (MobileNetV2's 17, MobileNetV1's 13, a 1-D Conformer block) "
        "against dwmlir's unfused kernels and a hand-written ACLE block (--quick: two tiny blocks)",
    )
    g.add_argument("--quick", action="store_true", help="a few small kernels (the test suite's set)")
    g.add_argument(
        "--kernels",
        metavar="NAME[,NAME...]",
        help="run only these kernels, from either set (see --list)",
    )
    g.add_argument("--list", action="store_true", help="print the kernel names of both sets and exit")
    g.add_argument(
        "--vector-bits",
        default=DEFAULT_VECTOR_BITS,
        metavar="BITS[,BITS...]",
        help="SVE vector lengths to count at (default: %(default)s)",
    )
    g.add_argument(
        "--cpus",
        default=None,
        metavar="CPU[,CPU...]",
        help="llvm-mca CPU models, or 'none' (default: neoverse-v1,neoverse-v2,a64fx)",
    )
    g.add_argument(
        "--cache-bits",
        default=DEFAULT_CACHE_BITS,
        metavar="BITS[,BITS...]",
        help="SVE vector lengths at which every kernel and baseline also runs under the cache model "
        "(Neoverse V1's 64 KiB 4-way L1D and 1 MiB 8-way L2; QEMU 10 and the plugin that "
        "tools/setup.sh builds), reporting DRAM bytes against compulsory bytes and L1 misses per "
        "output (with --set blocks: the DRAM bytes of every fused kernel, unfused pipeline and "
        "ACLE block); 'none' skips it (default: %(default)s)",
    )
    g.add_argument("--no-baselines", action="store_true", help="benchmark dwmlir kernels only")
    g.add_argument(
        "--no-dynamic",
        action="store_true",
        help="skip the kernels with run-time sizes (each kernel compiled with n and every spatial "
        "size dynamic, counted at the same shape and compared with the static one)",
    )
    g.add_argument("--json", type=Path, metavar="FILE", help="also write every number to FILE as JSON")
    g.add_argument("--plots", type=Path, metavar="DIR", help="also write PNG plots to DIR (needs matplotlib)")
    g.add_argument("--seed", type=types.seed, default=0, metavar="N", help="random data seed (default: 0)")
    g.add_argument(
        "--jobs",
        type=types.integer,
        default=None,
        metavar="N",
        help="parallel qemu/llvm-mca runs (default: number of CPUs)",
    )


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _cpus(text: str | None) -> tuple[str, ...]:
    from ..bench.mca import DEFAULT_CPUS, KNOWN_CPUS

    if text is None:
        return DEFAULT_CPUS
    if text.strip() == "none":
        return ()
    cpus = _csv(text)
    bad = [c for c in cpus if c not in KNOWN_CPUS]
    if bad or not cpus:
        raise UserError(
            f"unknown llvm-mca CPU '{bad[0] if bad else text}': choose from {', '.join(KNOWN_CPUS)}, or none"
        )
    return tuple(dict.fromkeys(cpus))


def cmd_bench(args: argparse.Namespace) -> int:
    if args.set == "blocks":
        return _cmd_bench_blocks(args)
    from ..bench.bf16 import bf16_comparison, bf16_ok, render_bf16
    from ..bench.host import host_comparison
    from ..bench.report import BenchRun, render_table, write_json, write_plots
    from ..bench.runner import run_bench
    from ..bench.suite import full_set, quick_set, select

    if args.list:
        for title, kernels in (("quick", quick_set()), ("full", full_set())):
            print(f"{title} set:")
            for k in kernels:
                print(f"  {k.name:<22} {k.layer}")
        return 0
    bits, cpus, names = _run_options(args, "--list")
    cache_bits = _cache_bits(args.cache_bits)
    kernels = select(names, args.quick)
    set_name = "selected" if names else ("quick set" if args.quick else "full set")

    start = time.perf_counter()
    results = run_bench(
        kernels,
        bits,
        cpus,
        baselines=not args.no_baselines,
        seed=args.seed,
        jobs=args.jobs,
        progress=progress,
        dynamic=not args.no_dynamic,
        cache_bits=cache_bits,
    )
    host = host_comparison(kernels, args.seed)
    bf16 = bf16_comparison(results, bits, args.seed, args.jobs or os.cpu_count() or 1, progress)
    run = BenchRun(set_name, bits, cpus, results, host, time.perf_counter() - start, tuple(cache_bits))
    print(render_table(run))
    if args.json is not None:
        write_json(run, args.json)
        print(f"json: {args.json}")
    if args.plots is not None:
        print(write_plots(run, args.plots))
    print()
    print("\n".join(render_bf16(bf16, bits)))
    return 0 if run.ok and bf16_ok(bf16) else 1


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _cache_bits(text: str) -> list[int]:
    """The cache model's vector lengths, and its QEMU and plugin found before any work starts."""
    from ..bench.cache import plugin_path
    from ..run import parse_vector_bits
    from ..toolchain import cache_qemu

    if text.strip() == "none":
        return []
    bits = parse_vector_bits(text, "cache-model vector lengths")
    try:
        cache_qemu()
        plugin_path()
    except ToolError as exc:
        raise ToolError(f"{exc}; or skip the cache model with --cache-bits none") from None
    return bits


def _run_options(
    args: argparse.Namespace, list_hint: str
) -> tuple[list[int], tuple[str, ...], list[str] | None]:
    """Vector lengths, llvm-mca CPUs and kernel names of a bench run, checked; the --jobs and
    --json flags checked too (both sets take them alike)."""
    from ..run import parse_vector_bits

    bits = parse_vector_bits(args.vector_bits)
    cpus = _cpus(args.cpus)
    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {args.jobs}")
    names = _csv(args.kernels) if args.kernels is not None else None
    if names is not None and not names:
        raise UserError(f"--kernels needs at least one name (see {list_hint})")
    if args.json is not None and not args.json.parent.is_dir():
        raise UserError(f"cannot write --json {args.json}: directory {args.json.parent} does not exist")
    return bits, cpus, names


def _cmd_bench_blocks(args: argparse.Namespace) -> int:
    """``--set blocks``: fused blocks, their unfused pipeline and the ACLE block (bench/blocks.py)."""
    import json

    from ..artefact.writer import write_output
    from ..bench.blocks import blocks_json, quick_block_set, render_blocks, run_blocks, select_blocks

    if args.list:
        for title, blocks in (("quick", quick_block_set()), ("blocks", select_blocks(None, False))):
            print(f"{title} block set:")
            for b in blocks:
                print(f"  {b.name:<14} {b.layer}")
        return 0
    for flag, given in (("--plots", args.plots is not None), ("--no-baselines", args.no_baselines)):
        if given:
            raise UserError(f"{flag} applies to --set kernels only: drop it, or drop --set blocks")
    bits, cpus, names = _run_options(args, "--set blocks --list")
    cache_bits = _cache_bits(args.cache_bits)
    blocks = select_blocks(names, args.quick)
    set_name = "selected" if names else ("quick block set" if args.quick else "block set")

    start = time.perf_counter()
    results = run_blocks(
        blocks, bits, cpus, seed=args.seed, jobs=args.jobs, progress=progress, cache_bits=cache_bits
    )
    seconds = time.perf_counter() - start
    print(render_blocks(results, bits, cpus, seconds, set_name, cache_bits))
    if args.json is not None:
        doc = blocks_json(results, bits, cpus, seconds, set_name, cache_bits)
        write_output(str(args.json), (json.dumps(doc, indent=1) + "\n").encode(), flag="--json")
        print(f"json: {args.json}")
    return 0 if all(r.status == "ok" for res in results for r in res.runs) else 1
