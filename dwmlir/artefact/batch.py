"""Batch builds: many kernels from a TOML or JSON config into one static library and header.

Config (TOML shown; JSON has the same keys, with ``kernels`` as a list of objects)::

    [library]
    name = "mobilenet_dw"          # libmobilenet_dw.a, mobilenet_dw.h, .json, .pc
    target = "aarch64-sve"         # optional, default aarch64-sve
    cpu = "neoverse-v1"            # optional

    [[kernels]]
    name = "dw_112x112x32"
    op = "depthwise_conv_2d_nhwc_hwc"
    input = "1x112x112x32"         # or [1, 112, 112, 32]
    filter = "3x3x32"
    strides = "1,1"                # optional: also 2 or [2, 2]; dilations alike
    padding = "same"               # optional: valid, same, "1:1,1:1", 1 (torch-style), [1, 1]
    dtype = "f32"                  # optional: f32, f16, bf16, i32, i8 (the *_q ops)
    out_dtype = "bf16"             # optional, bf16 only: f32 (default) or bf16 (rounded)
    input_zp = 0                   # optional, *_q ops only; filter_zp alike
    bias = true                    # optional, the fused block (see BlockSpec): bias, activation,
    activation = "relu6"           #   requantize, output_zp, output_scale, pointwise (COUT),
    pointwise = 16                 #   pointwise_bias, pointwise_activation, residual, and
                                   #   expand (CIN: then input gives CIN channels), expand_bias,
                                   #   expand_activation

Unknown keys, nulls and values of the wrong type are one-line user errors (a typo gets a
"did you mean"). Kernels compile in parallel worker processes (each has its own MLIR context).
"""

from __future__ import annotations

import contextlib
import ctypes
import difflib
import json
import os
import signal
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import UserError
from ..spec import BlockSpec, ConvSpec, block_from_options, check_name, expand_conv_input
from ..target import DEFAULT_TARGET, Target, for_dtype, get_target
from .compile import archive, check_cpu, compile_spec, link_shared, sha256_hex
from .header import header_symbols, kernel_block, render_header
from .writer import EMIT_KINDS

_TOP_KEYS = frozenset({"library", "kernels"})
_LIBRARY_KEYS = frozenset({"name", "target", "cpu"})
# The depthwise conv's keys, then the block's (see BlockSpec): the fused epilogue (bias = true,
# activation = "relu6", requantize = true, output_zp, output_scale) and a fused 1x1 conv
# (pointwise = COUT, pointwise_bias, pointwise_activation), the block's input added (residual,
# after the 1x1 conv or after the epilogue without one), and a fused 1x1 conv before
# it (expand = CIN, expand_bias, expand_activation), with their TOML/JSON types.
_BLOCK_KEYS: dict[str, type | tuple[type, ...]] = {
    "bias": bool,
    "activation": str,
    "requantize": bool,
    "output_zp": int,
    "output_scale": (int, float),
    "pointwise": int,
    "pointwise_bias": bool,
    "pointwise_activation": str,
    "residual": bool,
    "pointwise_output_zp": int,
    "pointwise_output_scale": (int, float),
    "expand": int,
    "expand_bias": bool,
    "expand_activation": str,
}
_KERNEL_KEYS = frozenset(
    {
        "name",
        "op",
        "input",
        "filter",
        "strides",
        "dilations",
        "padding",
        "dtype",
        "input_zp",
        "filter_zp",
        "out_dtype",
    }
    | {"dynamic"}
    | set(_BLOCK_KEYS)
)
# What a batch writes: --emit kinds -> suffixes, in the order files are listed; "all" is every one.
BATCH_EMIT: dict[str, str] = {k: EMIT_KINDS[k] for k in ("lib", "shared", "header", "json")} | {
    "pkgconfig": ".pc"
}


@dataclass(frozen=True)
class LibraryConfig:
    name: str
    target: Target
    cpu: str | None
    kernels: tuple[BlockSpec, ...]


def _check_table(table: dict, allowed: frozenset[str], where: str) -> None:
    """Unknown keys (a typo, [[kernel]] for [[kernels]]) and nulls are errors, never ignored."""
    unknown = sorted(map(str, set(table) - allowed))
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UserError(f"{where}: unknown key '{unknown[0]}'{hint}: use {', '.join(sorted(allowed))}")
    nulls = sorted(k for k, v in table.items() if v is None)
    if nulls:
        raise UserError(f"{where}: '{nulls[0]}' is null: give a value or leave the key out")


def _kernel_spec(entry: object, where: str) -> BlockSpec:
    if not isinstance(entry, dict):
        raise UserError(f"{where}: a kernel must be a table/object with name, op, input and filter")
    _check_table(entry, _KERNEL_KEYS, where)
    missing = [k for k in ("name", "op", "input", "filter") if k not in entry]
    if missing:
        raise UserError(f"{where}: missing key '{missing[0]}'")
    # ConvSpec takes the values as written: strings as on the command line ("1x8x8x32", "2,2"),
    # ints and lists; it rejects every other type with a one-line UserError.
    try:
        conv = ConvSpec(
            op=entry["op"],
            input_shape=expand_conv_input(
                entry["op"], entry["input"], entry["filter"], _typed(entry, "expand", int)
            ),
            filter_shape=entry["filter"],
            strides=entry.get("strides", ()),
            dilations=entry.get("dilations", ()),
            dtype=entry.get("dtype", "f32"),
            name=entry["name"],
            padding=entry.get("padding", "valid"),
            input_zp=entry.get("input_zp", 0),
            filter_zp=entry.get("filter_zp", 0),
            out_dtype=entry.get("out_dtype", ""),
            dynamic=entry.get("dynamic", ()),
        )
        return _block(conv, entry)
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None


def _typed(entry: dict, key: str, kind: type) -> object:
    """``entry[key]`` if it has type ``kind`` (else None: ``_block`` reports the wrong type)."""
    value = entry.get(key)
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def _block(conv: ConvSpec, entry: dict) -> BlockSpec:
    """The kernel's block keys; each must have its natural TOML/JSON type."""
    for key, kind in _BLOCK_KEYS.items():
        value = entry.get(key)
        if value is not None and (
            not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))
        ):
            raise UserError(
                f"{key} = {value!r} has the wrong type: see the config format in 'dwmlir compile --help'"
            )
    scale, pw_scale = entry.get("output_scale"), entry.get("pointwise_output_scale")
    return block_from_options(
        conv,
        bias=entry.get("bias", False),
        activation=entry.get("activation", "none"),
        requantize=entry.get("requantize", False),
        output_zp=entry.get("output_zp"),
        output_scale=None if scale is None else float(scale),
        pointwise=entry.get("pointwise"),
        pointwise_bias=entry.get("pointwise_bias", False),
        pointwise_activation=entry.get("pointwise_activation", "none"),
        residual=entry.get("residual", False),
        pointwise_output_zp=entry.get("pointwise_output_zp"),
        pointwise_output_scale=None if pw_scale is None else float(pw_scale),
        expand=entry.get("expand"),
        expand_bias=entry.get("expand_bias", False),
        expand_activation=entry.get("expand_activation", "none"),
    )


def load_config(path: Path, target: str | None = None, cpu: str | None = None) -> LibraryConfig:
    """Read and validate a batch config (``-``: from standard input); every problem is a
    one-line UserError.

    ``target`` and ``cpu`` (the command line's --target and --cpu) override the config's.
    """
    if str(path) == "-":  # standard input: JSON if it opens with '{', else TOML
        raw = sys.stdin.buffer.read()
        is_json = raw.lstrip().startswith(b"{")
        path = Path("<stdin>")
    else:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UserError(f"cannot read config {path}: {exc.strerror}") from None
        is_json = path.suffix == ".json"
    try:
        doc = json.loads(raw) if is_json else tomllib.loads(raw.decode())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        kind = "JSON" if is_json else "TOML"
        raise UserError(f"malformed {kind} in {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
        raise UserError(
            f"{path}: the top level must be an object with library and kernels, "
            f"not {kinds.get(type(doc), 'null')}"
        )
    _check_table(doc, _TOP_KEYS, str(path))
    lib = doc.get("library", {})
    if not isinstance(lib, dict):
        raise UserError(f"{path}: library must be a table/object with name, target and cpu")
    _check_table(lib, _LIBRARY_KEYS, f"{path}: [library]")
    if "name" not in lib:
        raise UserError(f"{path}: missing [library] name (the stem of libNAME.a and NAME.h)")
    for key in ("name", "target", "cpu"):
        if key in lib and not isinstance(lib[key], str):
            raise UserError(f"{path}: [library] {key} must be a string, got {json.dumps(lib[key])}")
    kernels = doc.get("kernels")
    if not isinstance(kernels, list) or not kernels:
        raise UserError(f"{path}: no kernels: add [[kernels]] entries with name, op, input, filter")
    resolved = get_target(target if target is not None else lib.get("target", DEFAULT_TARGET))
    cpu = check_cpu(resolved, cpu if cpu is not None else lib.get("cpu"))
    specs = tuple(_kernel_spec(k, f"{path}: kernel {i + 1}") for i, k in enumerate(kernels))
    for i, spec in enumerate(specs):
        try:
            for_dtype(resolved, spec.conv.dtype)  # bf16 kernels need an SVE target
        except UserError as exc:
            raise UserError(f"{path}: kernel {i + 1}: {exc}") from None
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserError(f"{path}: kernel name '{dupes[0]}' appears twice: C symbols must be unique")
    declared = {sym: s.name for s in specs for sym in header_symbols(s)}
    clash = next((n for n in names if n in declared), None)
    if clash:
        raise UserError(
            f"{path}: kernel name '{clash}' is also a constant of kernel '{declared[clash]}' in the "
            "library's header: rename one of them"
        )
    return LibraryConfig(check_name(str(lib["name"]), f"{path}: library name"), resolved, cpu, specs)


def batch_emit(text: str) -> tuple[str, ...]:
    """--emit for a batch: all (default), or any of lib, shared, header, json, pkgconfig."""
    if text.strip() == "all":
        return tuple(BATCH_EMIT.values())
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    choices = f"all, {', '.join(BATCH_EMIT)}"
    bad = [k for k in kinds if k not in BATCH_EMIT]
    if bad and bad[0] in EMIT_KINDS:
        raise UserError(
            f"--emit {bad[0]} is a file of one kernel: with --config choose from {choices} "
            "(or compile that kernel on its own)"
        )
    if bad or not kinds:
        kind = bad[0] if bad else text
        raise UserError(f"unknown --emit kind '{kind}': with --config choose from {choices}")
    emit = tuple(BATCH_EMIT[k] for k in kinds)
    if ".pc" in emit and ".a" not in emit and ".so" not in emit:
        raise UserError("--emit pkgconfig describes a library: add lib or shared to --emit")
    return emit


def output_names(cfg: LibraryConfig, emit: tuple[str, ...]) -> list[str]:
    """The file names a batch writes for ``emit``, in the order they are listed."""
    names = {
        ".a": f"lib{cfg.name}.a",
        ".so": f"lib{cfg.name}.so",
        ".h": f"{cfg.name}.h",
        ".json": f"{cfg.name}.json",
        ".pc": f"{cfg.name}.pc",
    }
    return [names[s] for s in BATCH_EMIT.values() if s in emit]


def render_pkgconfig(cfg: LibraryConfig, emit: tuple[str, ...]) -> str:
    """NAME.pc for pkg-config: paths relative to the file itself (``${pcfiledir}``), so the
    directory can be moved or installed anywhere.

    With the static archive, Libs names it by path: ``-L dir -lNAME`` would silently pick
    libNAME.so instead whenever both are in the directory and the link is not ``-static``.
    """
    libs = f"${{libdir}}/lib{cfg.name}.a" if ".a" in emit else f"-L${{libdir}} -l{cfg.name}"
    return (
        f"# {cfg.name}.pc: generated by dwmlir {__version__}; do not edit.\n"
        "prefix=${pcfiledir}\n"
        "libdir=${prefix}\n"
        "includedir=${prefix}\n"
        "\n"
        f"Name: {cfg.name}\n"
        f"Description: {len(cfg.kernels)} depthwise convolution kernels for {cfg.target.name}"
        f" (dwmlir {__version__}); needs only libc\n"
        f"Version: {__version__}\n"
        f"Libs: {libs}\n"
        "Cflags: -I${includedir}\n"
    )


def select_files(cfg: LibraryConfig, files: dict[str, bytes], emit: tuple[str, ...]) -> dict[str, bytes]:
    """The library files ``emit`` asks for, linking libNAME.so from libNAME.a if it is one."""
    if ".so" in emit:
        with tempfile.TemporaryDirectory(prefix="dwmlir-so-") as tmp:
            lib, so = Path(tmp) / f"lib{cfg.name}.a", Path(tmp) / f"lib{cfg.name}.so"
            lib.write_bytes(files[f"lib{cfg.name}.a"])
            link_shared(so, ["--whole-archive", lib])
            files = {**files, f"lib{cfg.name}.so": so.read_bytes()}
    if ".pc" in emit:
        files = {**files, f"{cfg.name}.pc": render_pkgconfig(cfg, emit).encode()}
    return {name: files[name] for name in output_names(cfg, emit)}


def _compile_one(spec: BlockSpec, target_name: str, cpu: str | None) -> tuple[bytes, float, bool]:
    start = time.perf_counter()
    art = compile_spec(spec, get_target(target_name), cpu)
    return art.files[".o"], time.perf_counter() - start, art.compact_expand


@dataclass(frozen=True)
class BuiltKernel:
    spec: BlockSpec
    seconds: float
    object_bytes: int
    compact_expand: bool = False  # ``Artefacts.compact_expand``: the header's plan follows it


def effective_jobs(requested: int, kernels: int) -> int:
    """Worker processes for a batch: never more than kernels or CPUs (``-j 100000`` forked
    100000 workers for one kernel)."""
    return max(1, min(requested, kernels, os.cpu_count() or 1))


def _die_with_parent(parent: int) -> None:
    """Pool worker initializer: die when the parent does, unwind (removing temporary
    directories and killing tools) on SIGTERM/SIGHUP, and leave Ctrl-C to the parent."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(128 + signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _worker_stop)


_PR_SET_PDEATHSIG = 1


def _worker_stop(signum: int, frame: object) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    raise SystemExit(128 + signum)  # multiprocessing exits quietly on SystemExit


def _stop_pool(pool: ProcessPoolExecutor, grace: float = 10.0) -> None:
    """Stop every worker now (SIGTERM, then SIGKILL after ``grace`` seconds) and wait for them."""
    procs = list((pool._processes or {}).values())  # no public API lists the workers
    for proc in procs:
        with contextlib.suppress(OSError):
            proc.terminate()
    # The workers go first: shutting the pool down closes the call queue, and a worker still
    # reading it would die of EOFError with a traceback on the shared stderr.
    deadline = time.monotonic() + grace
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join()
    pool.shutdown(wait=False, cancel_futures=True)


def build_library(
    cfg: LibraryConfig, jobs: int, progress: Callable[[int, int, str], None] | None = None
) -> tuple[dict[str, bytes], list[BuiltKernel]]:
    """Compile every kernel (at most ``effective_jobs(jobs)`` at a time); return the files to
    write and a summary. On any error or signal the workers are stopped before it propagates."""
    objects: dict[str, bytes] = {}
    built: dict[str, BuiltKernel] = {}
    pool = ProcessPoolExecutor(
        max_workers=effective_jobs(jobs, len(cfg.kernels)),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        futures = {pool.submit(_compile_one, s, cfg.target.name, cfg.cpu): s for s in cfg.kernels}
        for done, future in enumerate(as_completed(futures), start=1):
            spec = futures[future]
            obj, secs, compact = future.result()
            objects[spec.name] = obj
            built[spec.name] = BuiltKernel(spec, secs, len(obj), compact)
            if progress:
                progress(done, len(cfg.kernels), spec.name)
    except BaseException:
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="dwmlir-lib-") as tmp:
        members = []
        for spec in cfg.kernels:  # config order, so the archive is the same whatever finished first
            member = Path(tmp) / f"{spec.name}.o"
            member.write_bytes(objects[spec.name])
            members.append(member)
        lib = Path(tmp) / f"lib{cfg.name}.a"
        archive(lib, members)
        files[f"lib{cfg.name}.a"] = lib.read_bytes()
    blocks = [kernel_block(s, cfg.target, cfg.cpu, compact=built[s.name].compact_expand) for s in cfg.kernels]
    note = f"{len(cfg.kernels)} kernels in lib{cfg.name}.a; needs only libc."
    files[f"{cfg.name}.h"] = render_header(cfg.name, blocks, __version__, note).encode()
    manifest = {
        "dwmlir": __version__,
        "library": cfg.name,
        "target": cfg.target.name,
        "cpu": cfg.cpu,
        "kernels": [s.describe() for s in cfg.kernels],
        "artefacts": {name: sha256_hex(data) for name, data in sorted(files.items())},
    }
    files[f"{cfg.name}.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files, [built[s.name] for s in cfg.kernels]


def terminal_progress(done: int, total: int, name: str) -> None:
    """A one-line progress bar on a terminal; nothing when stderr is a file or pipe."""
    if not sys.stderr.isatty():
        return
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name[:40]:<40}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()
