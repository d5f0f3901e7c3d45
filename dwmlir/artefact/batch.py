"""Batch builds: many kernels from a TOML or JSON config into one static library and header.

Config (TOML shown; JSON has the same keys, with ``kernels`` as a list)::

    [library]
    name = "mobilenet_dw"          # libmobilenet_dw.a, mobilenet_dw.h, mobilenet_dw.json
    target = "aarch64-sve"         # optional, default aarch64-sve
    cpu = "neoverse-v1"            # optional

    [[kernels]]
    name = "dw_112x112x32"
    op = "depthwise_conv_2d_nhwc_hwc"
    input = "1x112x112x32"
    filter = "3x3x32"
    strides = "1,1"                # optional; also dilations, padding, dtype, input_zp, filter_zp

Kernels compile in parallel worker processes (each has its own MLIR context).
"""

from __future__ import annotations

import contextlib
import ctypes
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
from ..spec import ConvSpec, check_name, parse_int_list, parse_padding, parse_shape
from ..target import DEFAULT_TARGET, Target, get_target
from .compile import archive, check_cpu, compile_spec, sha256_hex
from .header import kernel_block, render_header

_KERNEL_KEYS = {
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
}


@dataclass(frozen=True)
class LibraryConfig:
    name: str
    target: Target
    cpu: str | None
    kernels: tuple[ConvSpec, ...]


def _kernel_spec(entry: object, where: str) -> ConvSpec:
    if not isinstance(entry, dict):
        raise UserError(f"{where}: a kernel must be a table/object with name, op, input and filter")
    unknown = sorted(set(entry) - _KERNEL_KEYS)
    if unknown:
        raise UserError(f"{where}: unknown key '{unknown[0]}': use {', '.join(sorted(_KERNEL_KEYS))}")
    missing = [k for k in ("name", "op", "input", "filter") if k not in entry]
    if missing:
        raise UserError(f"{where}: missing key '{missing[0]}'")

    def text(key: str, default: str | None = None) -> str | None:
        """Config values may be strings ("1x8x8x32", "2,2") or lists ([1, 8, 8, 32], [2, 2])."""
        value = entry.get(key, default)
        if isinstance(value, list):
            return ("x" if key in ("input", "filter") else ",").join(map(str, value))
        return None if value is None else str(value)

    try:
        return ConvSpec(
            op=text("op"),
            input_shape=parse_shape(text("input"), "input"),
            filter_shape=parse_shape(text("filter"), "filter"),
            strides=parse_int_list(text("strides"), "strides") if "strides" in entry else (),
            dilations=parse_int_list(text("dilations"), "dilations") if "dilations" in entry else (),
            dtype=text("dtype", "f32"),
            name=text("name"),
            padding=parse_padding(text("padding", "valid")),
            input_zp=int(entry.get("input_zp", 0)),
            filter_zp=int(entry.get("filter_zp", 0)),
        )
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None


def load_config(path: Path) -> LibraryConfig:
    """Read and validate a batch config; every problem is a one-line UserError."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read config {path}: {exc.strerror}") from None
    try:
        doc = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise UserError(f"malformed {kind} in {path}: {str(exc).splitlines()[0]}") from None
    lib = doc.get("library", {})
    kernels = doc.get("kernels", doc.get("kernel"))
    if not isinstance(lib, dict) or "name" not in lib:
        raise UserError(f"{path}: missing [library] name (the stem of libNAME.a and NAME.h)")
    if not isinstance(kernels, list) or not kernels:
        raise UserError(f"{path}: no kernels: add [[kernels]] entries with name, op, input, filter")
    target = get_target(str(lib.get("target", DEFAULT_TARGET)))
    cpu = check_cpu(target, lib.get("cpu"))
    specs = tuple(_kernel_spec(k, f"{path}: kernel {i + 1}") for i, k in enumerate(kernels))
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserError(f"{path}: kernel name '{dupes[0]}' appears twice: C symbols must be unique")
    return LibraryConfig(check_name(str(lib["name"]), f"{path}: library name"), target, cpu, specs)


def _compile_one(spec: ConvSpec, target_name: str, cpu: str | None) -> tuple[bytes, float]:
    start = time.perf_counter()
    art = compile_spec(spec, get_target(target_name), cpu)
    return art.files[".o"], time.perf_counter() - start


@dataclass(frozen=True)
class BuiltKernel:
    spec: ConvSpec
    seconds: float
    object_bytes: int


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
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join()


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
            obj, secs = future.result()
            objects[spec.name] = obj
            built[spec.name] = BuiltKernel(spec, secs, len(obj))
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
    blocks = [kernel_block(s, cfg.target, cfg.cpu) for s in cfg.kernels]
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
