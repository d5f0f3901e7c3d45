"""``dwmlir``: a thin command line over the stages.

Exit status: 0 success, 1 internal error or wrong numerical result, 2 user error.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import REPORT_HINT, Terminated, UserError
from ..rewrite import DEFAULT_VECTORIZER, VECTORIZERS
from ..spec import (
    LAYOUTS,
    OPS,
    SUPPORTED_DTYPES,
    SUPPORTED_OPS,
    BlockSpec,
    ConvSpec,
    block_from_options,
    expand_conv_input,
    infer_op,
    parse_int_list,
    parse_padding,
    parse_shape,
)
from ..target import DEFAULT_TARGET, get_target
from . import types
from .bench_cmd import add_bench_parser, cmd_bench
from .fuzz_cmd import add_fuzz_parser, cmd_fuzz
from .import_cmd import add_import_parser, cmd_import

DEMO_SPECS: tuple[tuple[str, ...], ...] = (
    ("--input", "1x1030x64", "--filter", "7x64"),
    ("--input", "2x37x13", "--filter", "3x13", "--strides", "2"),
    ("--input", "1x40x300", "--filter", "5x300", "--dilations", "3", "--dtype", "i32"),
    (
        "--op",
        "depthwise_conv_2d_nhwc_hwc",
        "--input",
        "1x28x28x144",
        "--filter",
        "3x3x144",
        "--strides",
        "2,2",
        "--padding",
        "same",
    ),
    (
        "--op",
        "depthwise_conv_2d_nchw_chw",
        "--input",
        "1x16x20x20",
        "--filter",
        "16x3x3",
        "--padding",
        "same",
        "--dtype",
        "f16",
    ),
    (
        "--op",
        "depthwise_conv_3d_ndhwc_dhwc",
        "--input",
        "1x6x8x8x32",
        "--filter",
        "3x3x3x32",
        "--padding",
        "same",
    ),
    (
        "--op",
        "depthwise_conv_2d_nhwc_hwc_q",
        "--input",
        "1x14x14x96",
        "--filter",
        "3x3x96",
        "--dtype",
        "i8",
        "--input-zp",
        "-3",
        "--filter-zp",
        "5",
        "--padding",
        "same",
    ),
)


# The argument groups that describe one kernel (refused next to --config).
SPEC_GROUPS = ("convolution spec", "fused block")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


def one_line(text: str) -> str:
    """``text`` with every character that could break a line (newline, form feed, U+2028...)
    or is not printable escaped: an error message that quotes the user's input stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _add_spec_flags(p: argparse.ArgumentParser, required: bool = True) -> None:
    g = p.add_argument_group(SPEC_GROUPS[0])
    g.add_argument(
        "--op",
        default=None,
        metavar="OP",
        help="linalg depthwise op (default: inferred from --layout and the shapes, see --layout); "
        f"known: {', '.join(OPS)}; compiled today: {', '.join(SUPPORTED_OPS)}",
    )
    g.add_argument(
        "--layout",
        default=None,
        choices=LAYOUTS,
        help="input layout, to infer --op (default: channels-last of the input's rank: nwc, nhwc, "
        "ndhwc); a filter with one more dim than the plain one picks the channel-multiplier op "
        "(*m), --dtype i8 with nhwc the quantized op (*_q); --op wins but must agree",
    )
    g.add_argument(
        "--input",
        required=required,
        metavar="SHAPE",
        help="input shape in the op's layout, sizes joined by 'x' (e.g. 1x1030x64 for nwc); '?' "
        "for a size given at run time (batch and spatial dims, e.g. 1x?x256)",
    )
    g.add_argument(
        "--dynamic",
        default=None,
        metavar="DIMS",
        help="input dims whose sizes the kernel takes at run time, letters of the input layout "
        "joined by ',' (n, d, h, w; e.g. n,w): one int64_t argument each after the pointers, in "
        "the input's dim order; --input's sizes for them are an example (what run uses). Filter "
        "sizes, strides, dilations and padding stay static",
    )
    g.add_argument(
        "--filter",
        required=required,
        metavar="SHAPE",
        help="filter shape in the op's layout (e.g. 7x64 for wc)",
    )
    g.add_argument(
        "--strides",
        default=None,
        metavar="S[,S...]",
        help="one stride per spatial dim, comma-separated, or one for every dim (default: all 1)",
    )
    g.add_argument(
        "--dilations",
        default=None,
        metavar="D[,D...]",
        help="one dilation per spatial dim, comma-separated, or one for every dim (default: all 1)",
    )
    g.add_argument(
        "--padding",
        default="valid",
        metavar="PAD",
        help="valid (none), same (TensorFlow: output = ceil(input / stride), the odd extra row at the "
        "high end), P (torch-style: P:P on every spatial dim), or LO:HI or P per spatial dim joined "
        "by ',', e.g. 1:1,2:2 or 1,2 (default: %(default)s); padded taps contribute nothing and the "
        "input buffer stays unpadded",
    )
    g.add_argument(
        "--input-zp",
        default=0,
        type=types.integer,
        metavar="N",
        help="input zero point of the quantized ops (*_q), -128..127 (default: 0)",
    )
    g.add_argument(
        "--filter-zp",
        default=0,
        type=types.integer,
        metavar="N",
        help="filter zero point of the quantized ops (*_q), -128..127 (default: 0)",
    )
    g.add_argument(
        "--dtype",
        default="f32",
        metavar="TYPE",
        help=f"element type of input, filter and output: {', '.join(SUPPORTED_DTYPES)}; i8 is for the "
        "quantized ops (i8 input and filter, i32 output); bf16 accumulates in f32 and outputs f32 "
        "(SVE targets, +bf16) "
        "(default: %(default)s)",
    )
    g.add_argument(
        "--out-dtype",
        default="",
        metavar="TYPE",
        help="with --dtype bf16: the output's element type, f32 (default) or bf16 (the f32 "
        "accumulators rounded to nearest-even on the store)",
    )
    _add_block_flags(p)
    _add_target_flags(g)
    g.add_argument(
        "--name",
        default="dwconv",
        metavar="NAME",
        help="C symbol of the kernel and stem of every artefact (default: %(default)s)",
    )


def _add_block_flags(p: argparse.ArgumentParser) -> None:
    """The epilogue fused into the conv's stores: the parts of a depthwise-separable block."""
    g = p.add_argument_group(
        SPEC_GROUPS[1],
        "applied to each accumulator before its one store, in this order; each part is optional",
    )
    g.add_argument(
        "--bias",
        action="store_true",
        help="add a per-output-channel bias (C*M values, the op's type; int32 for *_q ops): a "
        "'bias' argument after the filter (and zero points)",
    )
    g.add_argument(
        "--activation",
        default="none",
        metavar="A",
        help="after the bias: none (default), relu, relu6, clamp:LO:HI, silu or hardswish (float "
        "ops); with --requantize relu, relu6 and clamp:LO:HI become the int8 output clamp",
    )
    g.add_argument(
        "--requantize",
        action="store_true",
        help="*_q ops: int8 output = clamp(roundeven(float(acc + bias) * requant_scale[ch]) + "
        "output_zp, -128, 127) (TFLite/XNNPACK fp32 requantization); a float 'requant_scale' "
        "argument (C*M values) after the bias",
    )
    g.add_argument(
        "--output-zp",
        default=None,
        type=int,
        metavar="Z",
        help="with --requantize: the output zero point, -128..127, compiled in (default: 0)",
    )
    g.add_argument(
        "--output-scale",
        default=None,
        type=float,
        metavar="S",
        help="with --requantize --activation relu6 (only): the output's scale, which places 6.0 at "
        "output_zp + round(6 / S), rounded as TFLite does (float32, ties away from zero)",
    )
    g.add_argument(
        "--pointwise",
        default=None,
        type=int,
        metavar="COUT",
        help="then a 1x1 conv from the C depthwise channels to COUT channels, fused: depthwise tiles "
        "stay in a stack scratch of at most 32 KiB; weight 'pw_filter' is [C*M][COUT] for "
        "channels-last ops, [COUT][C] for channels-first ones; after a *_q op with --requantize it "
        "is int8 and requantizes again",
    )
    g.add_argument(
        "--pointwise-bias", action="store_true", help="add a per-output-channel bias 'pw_bias' (COUT values)"
    )
    g.add_argument(
        "--pointwise-activation",
        default="none",
        metavar="A",
        help="activation after the pointwise conv and its bias (as --activation; default: none)",
    )
    g.add_argument(
        "--pointwise-output-zp",
        default=None,
        type=int,
        metavar="Z",
        help="int8 blocks (*_q ops): the pointwise output's zero point (default: --output-zp); its "
        "input zero point is --output-zp, its weights' 0, its scales 'pw_requant_scale' (COUT values)",
    )
    g.add_argument(
        "--pointwise-output-scale",
        default=None,
        type=float,
        metavar="S",
        help="int8 blocks with --pointwise-activation relu6: the pointwise output's scale",
    )
    g.add_argument(
        "--residual",
        action="store_true",
        help="add the block's input to its output (stride 1, 'same' padding, the input's channels: COUT "
        "with --pointwise, else C*M; channels-last float ops)",
    )
    g.add_argument(
        "--expand",
        default=None,
        type=int,
        metavar="CIN",
        help="first a 1x1 conv from the input's CIN channels to the depthwise conv's C channels, "
        "fused (the inverted residual's expansion; channels-last float ops): --input then gives CIN "
        "channels; weight 'expand_filter' is [CIN][C]; padded positions of the expanded tensor are 0",
    )
    g.add_argument(
        "--expand-bias", action="store_true", help="add a per-channel bias 'expand_bias' (C values)"
    )
    g.add_argument(
        "--expand-activation",
        default="none",
        metavar="A",
        help="activation after the expand conv and its bias (as --activation; default: none)",
    )


def _add_target_flags(g) -> None:
    g.add_argument(
        "--target",
        default=DEFAULT_TARGET,
        metavar="TARGET",
        help="aarch64-sve (vector-length agnostic, default), aarch64-sve-vls{128,256,512,1024,2048} "
        "(specialized to one vector length; aborts with a message on another), aarch64-sve2, "
        "aarch64-neon (fixed 128-bit, no SVE), host (x86-64 with AVX2/FMA), host-avx512 (x86-64 with "
        "AVX-512, 512-bit vectors; host targets run on this machine's CPU)",
    )
    g.add_argument(
        "--cpu",
        default=None,
        metavar="NAME",
        help="tune scheduling for a CPU, as llc -mcpu (e.g. neoverse-v1, neoverse-v2, a64fx)",
    )
    g.add_argument(
        "--vectorizer",
        default=DEFAULT_VECTORIZER,
        choices=VECTORIZERS,
        help="who vectorizes the plain channels-last convs (nwc_wc, nhwc_hwc, ndhwc_dhwc): dwmlir's "
        "register-blocked rows (default) or upstream's conv vectorizer on 1-D rows, driven by the "
        "transform schedule (for comparison; the other ops always use dwmlir's vectorizer)",
    )


def spec_from_args(args: argparse.Namespace) -> BlockSpec:
    if args.input is None or args.filter is None:
        raise UserError("missing --input or --filter: give both shapes (or --config FILE for a batch)")
    input_shape, filter_shape = parse_shape(args.input, "input"), parse_shape(args.filter, "filter")
    op = infer_op(input_shape, filter_shape, args.layout, args.dtype, args.op)
    conv = ConvSpec(
        op=op,
        input_shape=expand_conv_input(op, input_shape, filter_shape, args.expand),
        filter_shape=filter_shape,
        strides=args.strides if args.strides is not None else (),  # "2": every dim's (ConvSpec)
        dilations=args.dilations if args.dilations is not None else (),
        dtype=args.dtype,
        name=args.name,
        padding=parse_padding(args.padding),
        input_zp=args.input_zp,
        filter_zp=args.filter_zp,
        out_dtype=args.out_dtype,
        dynamic=args.dynamic or (),
    )
    return block_from_options(
        conv,
        args.bias,
        args.activation,
        args.requantize,
        args.output_zp,
        args.output_scale,
        args.pointwise,
        args.pointwise_bias,
        args.pointwise_activation,
        args.residual,
        args.pointwise_output_zp,
        args.pointwise_output_scale,
        args.expand,
        args.expand_bias,
        args.expand_activation,
    )


def cmake_dir() -> Path:
    """dwmlir's CMake package (dwmlirConfig.cmake, the toolchain file): package data, so it sits
    next to the installed Python package whatever the install prefix."""
    return Path(__file__).resolve().parent.parent / "cmake"


class _CMakeDirAction(argparse.Action):
    """``dwmlir --cmake-dir``: print and exit, like --version."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[override]
        print(cmake_dir())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dwmlir",
        description="Compile linalg depthwise convolutions to scalable-vector ARM SVE code with MLIR, "
        "and check them under qemu-aarch64 at several vector lengths.",
        epilog="Exit status: 0 success, 1 internal error or numerical mismatch, 2 bad input or "
        "missing tool. Tools are found in DWMLIR_LLVM_DIR (default /usr/lib/llvm-22/bin); the "
        "aarch64 runtime in DWMLIR_AARCH64_SYSROOT (default .deps/aarch64-sysroot). A kernel of "
        "more than DWMLIR_MAX_KERNEL_OPS ops after dwmlir's rewrites (default 50000, about 250 KB "
        "of code; 0: no limit) is refused before its long compile.",
    )
    parser.add_argument("--version", action="version", version=f"dwmlir {__version__}")
    parser.add_argument(
        "--cmake-dir",
        action=_CMakeDirAction,
        help="print the directory of dwmlir's CMake package (for -Ddwmlir_DIR=) and exit; it also "
        "holds the toolchain file aarch64-linux-gnu.cmake",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    pc = sub.add_parser(
        "compile",
        help="compile one kernel (or a --config batch) to objects, libraries, header and every stage's IR",
        description="Write into DIR: NAME.o (ELF relocatable), libNAME.a, libNAME.so, NAME.h (C ABI), "
        "NAME.mlir (linalg input), NAME.schedule.mlir (transform schedule), NAME.vector.mlir "
        "(vectorized), NAME.llvm.mlir (LLVM dialect), NAME.ll (LLVM IR after opt -O3), NAME.s (assembly) and "
        "NAME.json (spec, target, tool versions, sha256 of each file). With --config, build every "
        "kernel of a TOML/JSON file in parallel into libLIB.a, libLIB.so, LIB.h, LIB.json and LIB.pc "
        "(see --config). "
        "Writes are atomic; "
        "the same input gives byte-identical files.",
    )
    _add_spec_flags(pc, required=False)
    pc.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR",
        help="output directory (created with its parents if missing); '-' writes the one text "
        "artefact of a single --emit kind (header, mlir, llvm, asm, ...) to stdout",
    )
    pc.add_argument(
        "--emit",
        default="all",
        metavar="KIND[,KIND...]",
        help="which files to write: all (default) or any of obj, header, mlir, llvm, asm, lib, shared, "
        "schedule, vector, lowered, json",
    )
    pc.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="batch: compile every kernel of a TOML or JSON file ('-': standard input, JSON if it "
        "opens with '{') into libLIB.a, libLIB.so, LIB.h, "
        "LIB.json and LIB.pc (pkg-config, relocatable). Keys: [library] name (required), target, "
        "cpu; one [[kernels]] table per kernel "
        "with name, op, input, filter (required), strides, dilations, padding, dtype, input_zp, "
        'filter_zp, out_dtype (bf16 kernels: "f32" or "bf16"), written as on the command line '
        '("1x112x112x32", "2,2", "same") or as TOML '
        "numbers and lists ([1, 112, 112, 32], 2, 1); the fused block's keys bias, activation, "
        "requantize, output_zp, output_scale, pointwise, pointwise_bias, pointwise_activation, "
        "pointwise_output_zp, pointwise_output_scale, residual, expand, expand_bias and expand_activation "
        "as their flags (booleans for the "
        "switches). Unknown keys and wrong types are errors. With "
        "--config, --emit takes all, lib, shared, header, json, pkgconfig; --target and --cpu override the "
        "config's; the other spec flags are errors. See examples/board/kernels.toml",
    )
    pc.add_argument(
        "-j",
        "--jobs",
        type=types.integer,
        default=None,
        metavar="N",
        help="parallel compiles for --config (at most one per kernel and per CPU; default: CPUs)",
    )
    pc.add_argument(
        "--print-outputs",
        action="store_true",
        help="with --config: check the config and print the paths the batch would write, one a line, "
        "without compiling (what CMake's dwmlir_add_kernels declares as outputs)",
    )

    pg = sub.add_parser(
        "gen",
        help="write the linalg .mlir of a spec, optionally with dwmlir's transform schedule",
        description="Write the kernel function in linalg (what NAME.mlir holds). With --with-schedule, "
        "write instead the payload after dwmlir's own rewrites (its vectorizer; with --vectorizer "
        "upstream, the row decomposition of channels-last convs) "
        "together with the transform schedule, so 'mlir-opt -transform-interpreter' reproduces the "
        "vectorization.",
    )
    _add_spec_flags(pg)
    pg.add_argument("--with-schedule", action="store_true", help="append the transform schedule (see above)")
    pg.add_argument(
        "-o", "--output", default="-", metavar="FILE", help="output file, or - for stdout (default: -)"
    )

    pl = sub.add_parser(
        "lower",
        help="run dwmlir's rewrites, schedules and pipeline on your own .mlir module",
        description="Lower a module of functions on tensors that contain linalg depthwise convs (and "
        "fills, pads and elementwise linalg ops around them) for a target. An op that cannot be "
        "vectorized is named with its location (exit 2).",
    )
    pl.add_argument("input", nargs="?", default="-", help="input .mlir file (default: stdin)")
    pl.add_argument(
        "-o", "--output", default="-", metavar="FILE", help="output file, or - for stdout (default: -)"
    )
    pl.add_argument(
        "--emit",
        default="mlir",
        choices=("mlir", "llvm", "asm", "obj"),
        help="LLVM-dialect MLIR (default), LLVM IR, assembly or an object file",
    )
    _add_target_flags(pl.add_argument_group("target"))

    pr = sub.add_parser(
        "run",
        help="compile, run under qemu at several vector lengths, compare with numpy",
        description="Compile the kernel, run it on random data at each SVE vector length "
        "and compare with an independent numpy reference. Exits 0 only when every "
        "run matches.",
    )
    _add_spec_flags(pr)
    _add_run_flags(pr)
    pr.add_argument(
        "--sizes",
        default=None,
        metavar="SHAPE[,SHAPE...]",
        help="a kernel with run-time sizes: the input shapes to call it at, in one process per "
        "vector length (e.g. 1x1x64,2x9x64,3x100x64); shapes that give no output (even 0 or "
        "negative sizes) or a buffer over 2^31-1 elements check that it writes nothing (default: "
        "the example shape, each run-time "
        "size one larger, and the spatial ones 37 larger with the batch 2 larger)",
    )
    pr.add_argument(
        "--threads",
        default=None,
        metavar="N[,N...]",
        help="also call NAME_part(..., part, parts) from N threads of one process (real host "
        "threads under qemu), for each N, and check its output bit for bit against one call of "
        "NAME as well as against the reference (aot path; e.g. 1,2,3,7)",
    )

    pd = sub.add_parser(
        "demo",
        help="run a few representative specs at four vector lengths",
        description="Compile and check a few representative depthwise convolutions (1-D, 2-D "
        "and 3-D; channels-last and channels-first; f32, f16, i32 and quantized i8; strides, "
        "dilations, SAME padding) at 128, 256, 512 and 2048 bits.",
    )
    _add_run_flags(pd)
    add_bench_parser(sub)
    add_fuzz_parser(sub)
    add_import_parser(sub)
    return parser


def _add_run_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("running")
    g.add_argument(
        "--vector-bits",
        default=None,
        metavar="BITS[,BITS...]",
        help="SVE vector lengths to run at (default: 128,256,512,2048 for vector-length agnostic "
        "targets, the target's own for aarch64-sve-vlsN; NEON and host run once)",
    )
    g.add_argument(
        "--mode",
        default="aot",
        metavar="MODE[,MODE...]",
        help="aot: link the object with a C driver; jit: run the lowered module with the "
        "aarch64 mlir-runner (several SVE lengths in one process under qemu, setArmVLBits "
        "before each run); both: aot,jit (default: %(default)s)",
    )
    g.add_argument("--seed", default=0, type=types.seed, metavar="N", help="random data seed (default: 0)")


def _modes(text: str) -> tuple[str, ...]:
    from ..run import MODES

    modes = tuple(m.strip() for m in text.split(","))
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise UserError(f"unknown run mode '{bad[0]}': choose from {', '.join(MODES)}")
    twice = [m for m in MODES if modes.count(m) > 1]
    if twice:
        raise UserError(f"run mode '{twice[0]}' is given twice in --mode {text}: give each mode once")
    return modes


def cmd_compile(args: argparse.Namespace) -> int:
    from ..artefact import compile_spec, parse_emit, write_artefacts

    if args.config is not None:
        return _compile_batch(args)
    if args.print_outputs:
        raise UserError("--print-outputs lists a batch's files: give --config FILE")
    if args.jobs is not None:
        raise UserError("-j runs a batch's compiles in parallel: give --config FILE, or drop -j")
    emit = parse_emit(args.emit)
    to_stdout = str(args.output) == "-"
    if to_stdout and (len(emit) != 1 or emit[0] in _BINARY_SUFFIXES):
        raise UserError(
            "-o - writes one text artefact to stdout: give exactly one of --emit header, mlir, llvm, "
            "asm, schedule, vector, lowered or json (or -o DIR for several files)"
        )
    spec = spec_from_args(args)
    art = compile_spec(spec, get_target(args.target), args.cpu, args.vectorizer)
    if to_stdout:
        from ..artefact.writer import write_output

        write_output("-", art.files[emit[0]])
        return 0
    for path in write_artefacts(art, args.output, emit):
        print(path)
    return 0


_BINARY_SUFFIXES = (".o", ".a", ".so")


def _compile_batch(args: argparse.Namespace) -> int:
    from ..artefact import write_files
    from ..artefact.batch import (
        batch_emit,
        build_library,
        effective_jobs,
        load_config,
        output_names,
        select_files,
        terminal_progress,
    )

    if args.jobs is None:
        args.jobs = os.cpu_count() or 1
    if args.jobs < 1:
        raise UserError(f"-j must be >= 1, got {args.jobs}")
    if args.vectorizer != DEFAULT_VECTORIZER:
        raise UserError(
            f"--vectorizer {args.vectorizer} applies to one kernel: a --config batch always uses "
            "dwmlir's vectorizer (compile the kernel on its own to compare)"
        )
    given = _spec_flags_given(getattr(args, "argv", sys.argv[1:]))
    stray = [flag for dest, flag in given.items() if dest not in ("target", "cpu", "vectorizer")]
    if stray:
        raise UserError(
            f"{stray[0]} describes one kernel: with --config every kernel's spec comes from the config "
            "(only -o, --emit, -j, and --target/--cpu, which override the config's, go with --config)"
        )
    if str(args.output) == "-":
        raise UserError("a --config batch writes a library and a header: give -o DIR, not -o -")
    emit = batch_emit(args.emit)
    cfg = load_config(
        args.config, args.target if "target" in given else None, args.cpu if "cpu" in given else None
    )
    if args.print_outputs:
        for name in output_names(cfg, emit):
            print(Path(args.output) / name)
        return 0
    start = time.perf_counter()
    files, built = build_library(cfg, args.jobs, terminal_progress)
    paths = write_files(args.output, select_files(cfg, files, emit))
    print(f"{'kernel':<28} {'op':<30} {'dtype':<5} {'output':>18} {'compile':>8} {'object':>8}")
    for k in built:
        out = "x".join(  # a run-time size is '?'
            "?" if ch in k.spec.conv.dynamic else str(v)
            for ch, v in zip(k.spec.output_layout, k.spec.output_shape, strict=True)
        )
        spec = k.spec.conv
        print(
            f"{spec.name:<28} {spec.op:<30} {spec.dtype:<5} {out:>18} {k.seconds:>7.2f}s {k.object_bytes:>7}B"
        )
    elapsed = time.perf_counter() - start
    jobs = effective_jobs(args.jobs, len(cfg.kernels))
    print(f"{len(built)} kernels for {cfg.target.name} in {elapsed:.1f} s with -j {jobs}")
    for path in paths:
        print(path)
    return 0


def _spec_flags_given(argv: Sequence[str]) -> dict[str, str]:
    """The compile flags of the "convolution spec" and "fused epilogue" groups that ``argv``
    gives explicitly (dest -> flag).

    Parsed again with every default suppressed, since a value equal to the default may have been
    typed (--target aarch64-sve to override a config's target).
    """
    parser = build_parser()
    compile_parser = next(
        a.choices["compile"] for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    spec_flags = {
        action.dest: max(action.option_strings, key=len)
        for group in compile_parser._action_groups
        if group.title in SPEC_GROUPS
        for action in group._group_actions
    }
    for action in compile_parser._actions:
        action.default = argparse.SUPPRESS
    given = vars(parser.parse_args(list(argv)))
    return {dest: flag for dest, flag in spec_flags.items() if dest in given}


def cmd_gen(args: argparse.Namespace) -> int:
    from ..artefact import write_output
    from ..artefact.gen import generate

    spec = spec_from_args(args)
    write_output(
        args.output, generate(spec, get_target(args.target), args.with_schedule, args.vectorizer).encode()
    )
    return 0


def cmd_lower(args: argparse.Namespace) -> int:
    from ..artefact import check_cpu, write_output
    from ..artefact.lower import lower_module

    target = get_target(args.target)
    cpu = check_cpu(target, args.cpu)
    source = "<stdin>" if args.input == "-" else args.input
    try:
        if args.input == "-":
            if sys.stdin is None:
                raise UserError("standard input is closed: give the input .mlir file")
            data = sys.stdin.buffer.read()
        else:
            data = Path(args.input).read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UserError(f"cannot read {source}: {reason}") from None
    if args.emit == "obj" and args.output == "-" and sys.stdout.isatty():
        raise UserError("refusing to write an object file to a terminal: give -o FILE")
    write_output(args.output, lower_module(text, source, target, cpu, args.emit, args.vectorizer))
    return 0


def _print_results(spec: BlockSpec, results) -> bool:
    threads = any(r.threads for r in results)
    col = f" {'threads':>7}" if threads else ""
    print(f"{spec.describe()}")
    print(
        f"  {'mode':<5} {'VL':>5}{col}  {'max|err|':>10}  {'tolerance':>10}  {'bad':>5}  {'time':>7}  result"
    )
    for r in results:
        verdict = "ok" if r.ok else "MISMATCH"
        if r.threads:
            verdict += " (NAME_part; bit for bit as one call)" if r.ok else " (NAME_part)"
        n = f" {r.threads or '-':>7}" if threads else ""
        print(
            f"  {r.mode:<5} {r.vector_bits or '-':>5}{n}  {r.max_abs_err:>10.3g}  {r.tolerance:>10.3g}  "
            f"{r.mismatches:>5}  {r.seconds:>6.2f}s  {verdict}"
        )
    return all(r.ok for r in results)


def _threads(args: argparse.Namespace) -> tuple[int, ...]:
    text = getattr(args, "threads", None)
    return () if text is None else tuple(parse_int_list(text, "thread counts", "1,2,4"))


def _run_one(spec: BlockSpec, args: argparse.Namespace) -> tuple[int, int]:
    from ..run import parse_vector_bits, run_spec

    bits = None if args.vector_bits is None else parse_vector_bits(args.vector_bits)
    target = get_target(args.target)
    results = run_spec(
        spec,
        target,
        bits,
        _modes(args.mode),
        seed=args.seed,
        cpu=args.cpu,
        vectorizer=args.vectorizer,
        threads=_threads(args),
    )
    _print_results(spec, results)
    return sum(r.ok for r in results), len(results)


def _run_sizes(spec: BlockSpec, args: argparse.Namespace) -> tuple[int, int]:
    """A kernel with run-time sizes: one driver per vector length calls it at every shape."""
    from ..run import parse_vector_bits
    from ..run.runner import parse_run_shapes, run_sizes

    if _modes(args.mode) != ("aot",):
        raise UserError(
            "a kernel with run-time sizes runs on the aot path only (one C driver calls it at every "
            "size): use --mode aot"
        )
    if args.vectorizer != "dwmlir":
        raise UserError(f"--vectorizer {args.vectorizer} needs static sizes: use --vectorizer dwmlir")
    bits = None if args.vector_bits is None else parse_vector_bits(args.vector_bits)
    shapes = None if args.sizes is None else parse_run_shapes(args.sizes, spec.conv)
    threads = _threads(args)
    results = run_sizes(
        spec, get_target(args.target), shapes, bits, seed=args.seed, cpu=args.cpu, threads=threads
    )
    col = f" {'threads':>7}" if threads else ""
    print(f"{spec.describe()}")
    print(f"  {'input':>16} {'VL':>5}{col}  {'max|err|':>10}  {'tolerance':>10}  {'bad':>5}  result")
    for sized in results:
        r = sized.result
        shape = "x".join(map(str, sized.input_shape))
        why = "over the size limit" if sized.over_limit else "empty output"
        verdict = ("ok" if r.ok else "MISMATCH") + (f" ({why}, nothing written)" if sized.empty else "")
        if sized.empty and not r.ok:
            verdict = "WROTE (empty output)"
        if r.threads and not sized.empty:
            verdict += " (NAME_part; bit for bit as one call)" if r.ok else " (NAME_part)"
        n = f" {r.threads or '-':>7}" if threads else ""
        print(
            f"  {shape:>16} {r.vector_bits or '-':>5}{n}  {r.max_abs_err:>10.3g}  {r.tolerance:>10.3g}  "
            f"{r.mismatches:>5}  {verdict}"
        )
    return sum(s.result.ok for s in results), len(results)


def cmd_run(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    if args.sizes is not None and not spec.conv.is_dynamic:
        raise UserError("--sizes is for kernels with run-time sizes: add --dynamic DIMS or '?' in --input")
    if spec.conv.is_dynamic:
        good, total = _run_sizes(spec, args)
        print(f"{good}/{total} runs match the reference")
        return 0 if good == total else 1
    good, total = _run_one(spec, args)
    print(f"{good}/{total} runs match the reference")
    return 0 if good == total else 1


def cmd_demo(args: argparse.Namespace) -> int:
    good = total = 0
    for flags in DEMO_SPECS:
        spec_args = build_parser().parse_args(["run", *flags])
        spec_args.vector_bits, spec_args.mode, spec_args.seed = args.vector_bits, args.mode, args.seed
        g, t = _run_one(spec_from_args(spec_args), spec_args)
        good, total = good + g, total + t
    print(f"{good}/{total} runs match the reference")
    return 0 if good == total else 1


COMMANDS = {
    "compile": cmd_compile,
    "run": cmd_run,
    "demo": cmd_demo,
    "gen": cmd_gen,
    "lower": cmd_lower,
    "bench": cmd_bench,
    "fuzz": cmd_fuzz,
    "import": cmd_import,
}


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _stop(signum: int, frame: object) -> None:
    """SIGTERM/SIGHUP: unwind like Ctrl-C, so temporary files go and child processes are
    stopped; a second signal while unwinding is ignored."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # which flags were typed (see --config)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return _run_command(args)
    finally:
        _quiet_stdout()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _GuardedStdout:
    """``sys.stdout`` whose write errors (a full disk, a closed pipe) are the user's to fix."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        try:
            return self._inner.write(text)
        except OSError as exc:
            raise UserError(f"cannot write to standard output: {exc.strerror or exc}") from None

    def flush(self) -> None:
        try:
            self._inner.flush()
        except OSError as exc:
            raise UserError(f"cannot write to standard output: {exc.strerror or exc}") from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _run_command(args: argparse.Namespace) -> int:
    real = sys.stdout
    if real is not None:
        sys.stdout = _GuardedStdout(real)  # type: ignore[assignment]
    try:
        status = COMMANDS[args.command](args)
        if sys.stdout is not None:
            sys.stdout.flush()
        return status
    except UserError as exc:
        print(f"dwmlir: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dwmlir: interrupted", file=sys.stderr)
        return 130
    except Terminated as exc:
        print(f"dwmlir: stopped by {signal.Signals(exc.signum).name}", file=sys.stderr)
        return 128 + exc.signum
    except OSError as exc:
        if exc.errno not in _ENVIRONMENT_ERRNOS:
            return _internal_error(exc)
        where = one_line(str(exc.filename or tempfile.gettempdir()))
        print(
            f"dwmlir: error: cannot write {where}: {exc.strerror}; free some space or set TMPDIR to "
            "a writable directory",
            file=sys.stderr,
        )
        return 2
    except Exception as exc:  # noqa: BLE001 - last line of defence, must not show a traceback
        return _internal_error(exc)
    finally:
        sys.stdout = real


def _internal_error(exc: BaseException) -> int:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    print(f"dwmlir: internal error: {type(exc).__name__}: {first}; {REPORT_HINT}", file=sys.stderr)
    return 1


# A full disk or quota, a read-only file system: temporary files, not our bug.
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def _quiet_stdout() -> None:
    """After an error on standard output, Python would flush it again at exit and print a
    traceback-like warning: point it at /dev/null instead."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def entry() -> None:
    sys.exit(main())
