"""``dwmlir import``: an ONNX model's depthwise layers into one library, header and weights.

Kept out of ``main.py`` like ``fuzz``: it imports nothing from ``main`` and loads onnx only
when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..target import DEFAULT_TARGET
from . import types


def add_import_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``import`` subcommand to ``build_parser()``'s subparsers."""
    p = subparsers.add_parser(
        "import",
        help="compile an ONNX model's depthwise layers (with BatchNorm, activation and 1x1 conv fused)",
        description="Find every depthwise Conv (group == input channels) of an ONNX model, fuse what "
        "follows it (BatchNormalization, Relu, Clip, HardSwish, Sigmoid*Mul as SiLU, then a 1x1 Conv "
        "with its own BatchNorm and activation, and an Add of the block's input) and the 1x1 Conv "
        "(with its BatchNorm and activation) that alone feeds it (the expand stage), and write into DIR "
        "libNAME.a (one channels-last kernel per layer), NAME.h (prototypes, shapes, the weight "
        "arrays and NAME_LAYER_apply(input, output)), NAME_weights.c (the weights as const arrays in "
        "the kernels' layouts) and NAME.json (which ONNX nodes each kernel replaces). With --check, "
        "run every layer under qemu and compare it with onnxruntime. Exit 1 on a mismatch.",
    )
    p.add_argument(
        "model",
        nargs="?",
        default="-",
        help="the .onnx file (static input shape); '-' or none: read it from standard input "
        "(its NAME then defaults to 'model')",
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="output directory (created if missing)"
    )
    p.add_argument(
        "--name",
        default=None,
        metavar="NAME",
        help="library name (default: the file's stem; 'model' from standard input)",
    )
    p.add_argument(
        "--target",
        default=DEFAULT_TARGET,
        metavar="TARGET",
        help="as for 'dwmlir compile' (default: %(default)s)",
    )
    p.add_argument("--cpu", default=None, metavar="NAME", help="as for 'dwmlir compile'")
    p.add_argument(
        "-j",
        "--jobs",
        type=types.integer,
        default=os.cpu_count() or 1,
        metavar="N",
        help="parallel compiles (default: CPUs)",
    )
    g = p.add_argument_group("checking")
    g.add_argument(
        "--check",
        action="store_true",
        help="run every layer under qemu on a random model input and compare with onnxruntime",
    )
    g.add_argument(
        "--vector-bits",
        default=None,
        metavar="BITS[,BITS...]",
        help="SVE vector lengths for --check (default: 128,512 on aarch64-sve, a VLS target's own "
        "length; none on fixed-width targets)",
    )
    g.add_argument(
        "--seed", type=types.seed, default=None, metavar="S", help="--check's random input seed (default: 0)"
    )
    return p


def _model_path(model: str, tmp: Path) -> Path:
    """The model file; ``-``: standard input's bytes, written to ``tmp/model.onnx``."""
    if model != "-":
        return Path(model)
    data = sys.stdin.buffer.read()
    if not data:
        raise UserError("no model on standard input: give the .onnx file, or pipe one into 'dwmlir import'")
    path = tmp / "model.onnx"
    path.write_bytes(data)
    return path


def cmd_import(args: argparse.Namespace) -> int:
    from ..run import parse_vector_bits, target_vector_bits
    from ..target import get_target

    if args.jobs < 1:
        raise UserError(f"-j must be >= 1, got {args.jobs}")
    if not args.check and (args.vector_bits is not None or args.seed is not None):
        flag = "--vector-bits" if args.vector_bits is not None else "--seed"
        raise UserError(f"{flag} applies to --check: add --check, or drop {flag}")
    bits = None
    if args.vector_bits is not None:
        bits = parse_vector_bits(args.vector_bits, "--vector-bits", check=False)
        # Refused here, as the check would refuse them, before any kernel is compiled.
        target_vector_bits(get_target(args.target), bits)
    start = time.perf_counter()
    # With --check the files are written once it has run: a check that cannot run (no
    # emulator, a model onnxruntime refuses) is a user error, which leaves nothing behind.
    out_dir = None if args.check else args.output
    with tempfile.TemporaryDirectory(prefix="dwmlir-import-") as tmp:  # --check reads the model too
        path = _model_path(args.model, Path(tmp))
        try:
            return _import(args, path, out_dir, bits, start)
        except UserError as exc:
            if args.model != "-":
                raise
            raise UserError(str(exc).replace(str(path), "the model on standard input")) from None


def _import(
    args: argparse.Namespace, path: Path, out_dir: str | None, bits: tuple[int, ...] | None, start: float
) -> int:
    import numpy as np

    from ..frontends import import_onnx

    model = import_onnx(path, args.target, out_dir, name=args.name, cpu=args.cpu, jobs=args.jobs)
    print(model.summary())
    print(f"{len(model.layers)} kernels for {model.target} in {time.perf_counter() - start:.1f} s")
    if not args.check:
        for written in model.paths.values():
            print(written)
        return 0
    shape = np.shape(model.example_input)
    x = np.random.default_rng(args.seed or 0).standard_normal(shape).astype(np.float32)
    checks = model.check(x, bits)
    print(f"{'kernel':<36} {'VL':>5} {'max|err|':>11} {'tolerance':>11}  result")
    for c in checks:
        vl = c.vector_bits or "-"
        result = "ok" if c.ok else ("MISMATCH" if c.kernel_ok else "MISMATCH (kernel)")
        print(f"{c.kernel:<36} {vl:>5} {c.max_abs_err:>11.3g} {c.tolerance:>11.3g}  {result}")
    good = sum(c.ok for c in checks)
    print(f"{good}/{len(checks)} layer runs match onnxruntime")
    for written in model.write(args.output).values():
        print(written)
    return 0 if good == len(checks) else 1
