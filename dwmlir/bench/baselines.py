"""Baseline kernels from our own C sources in ``bench/``, built with clang 22 for SVE.

Each baseline has the C ABI of a dwmlir kernel (same symbol, same buffers), so one driver,
one instruction counter and one numpy check serve all of them. The shapes are compile-time
macros (``-DDW_C=64 ...``), as they are constants in dwmlir kernels.

- ``autovec``: ``bench/dw_autovec.c``, plain loops left to clang's loop vectorizer.
- ``acle``: hand-written SVE ACLE, ``bench/dw_acle_k7.c`` (1-D, 7 taps) and
  ``bench/dw_acle_3x3.c`` (2-D 3x3 and 3-D 3x3x3); no ACLE baseline for other filters.
- ``acle_rb``: hand-written SVE ACLE that sweeps blocks of rows along W with rotating
  accumulators (``bench/dw_sweep.h``): ``dw_acle_rb_s1.c`` and ``dw_acle_rb_s2.c`` (2-D 3x3,
  stride 1 and 2), ``dw_acle_rb_3d.c`` (3-D 3x3x3 stride 1, two passes), ``dw_acle_rb_k7.c``
  (1-D, 7 taps, stride 1).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..artefact import c_prototype
from ..errors import InternalError, ToolError, UserError
from ..spec import ConvSpec
from ..toolchain import repo_root, run
from ..toolchain.tools import llvm_dir

BASELINES = ("autovec", "acle", "acle_rb")
# The hand-written ones: dwmlir's target is the strongest of these per kernel (issue 12).
HAND_WRITTEN = ("acle", "acle_rb")
SOURCES_ENV = "DWMLIR_BENCH_DIR"
# Generic AArch64 tuning with SVE, vector-length agnostic: what dwmlir's llc gets (+sve).
CFLAGS = ("--target=aarch64-linux-gnu", "-O3", "-march=armv8.2-a+sve", "-std=c11", "-Wall")


@dataclass(frozen=True)
class BaselineBuild:
    name: str  # "autovec", "acle" or "acle_rb"
    source: Path
    obj: bytes
    asm: str
    header: str
    compile_seconds: float


def source_dir() -> Path:
    """``$DWMLIR_BENCH_DIR``, else ``bench/`` of the source checkout (baselines are sources,
    not package data; the variable lets a test or a user substitute their own)."""
    env = os.environ.get(SOURCES_ENV)
    if env:
        if not (Path(env) / "dw_autovec.c").is_file():
            raise UserError(f"{SOURCES_ENV}={env} has no dw_autovec.c: point it at a copy of bench/")
        return Path(env)
    root = repo_root()
    if root is None or not (root / "bench" / "dw_autovec.c").is_file():
        raise UserError(
            f"baseline sources (bench/*.c) need a dwmlir source checkout: set {SOURCES_ENV} to a "
            "copy of bench/, or use --no-baselines"
        )
    return root / "bench"


def clang() -> Path:
    """clang 22 from the LLVM directory (installed by tools/setup.sh as clang-22)."""
    path = llvm_dir() / "clang"
    if not os.access(path, os.X_OK):
        raise ToolError(f"clang not found in {llvm_dir()}: run tools/setup.sh, or use --no-baselines")
    return path


def baseline_source(name: str, spec: ConvSpec) -> Path | None:
    """The C source of baseline ``name`` for ``spec``, or None when it has none for this shape."""
    rank = spec.info.rank
    if (
        not spec.info.plain_channels_last
        or spec.dtype != "f32"
        or spec.has_padding
        or any(d != 1 for d in spec.dilations)
    ):
        return None
    if name == "autovec":
        return source_dir() / "dw_autovec.c"
    if name == "acle":
        if rank == 1 and spec.kernel == (7,):
            return source_dir() / "dw_acle_k7.c"
        if spec.kernel in ((3, 3), (3, 3, 3)):
            return source_dir() / "dw_acle_3x3.c"
        return None
    if name == "acle_rb":
        if spec.kernel == (7,) and spec.strides == (1,):
            return source_dir() / "dw_acle_rb_k7.c"
        if spec.kernel == (3, 3) and spec.strides in ((1, 1), (2, 2)):
            return source_dir() / f"dw_acle_rb_s{spec.strides[0]}.c"
        if spec.kernel == (3, 3, 3) and spec.strides == (1, 1, 1):
            return source_dir() / "dw_acle_rb_3d.c"
        return None
    raise InternalError(f"unknown baseline '{name}'")


def shape_macros(spec: ConvSpec) -> list[str]:
    """``-D`` flags describing ``spec`` as an ndhwc conv (dw_common.h)."""
    pad = 3 - spec.info.rank
    spatial = (1,) * pad + spec.in_spatial
    kernel = (1,) * pad + spec.kernel
    strides = (1,) * pad + spec.strides
    values = {
        "DW_NAME": spec.name,
        "DW_N": spec.batch,
        "DW_C": spec.channels,
        "DW_ID": spatial[0],
        "DW_IH": spatial[1],
        "DW_IW": spatial[2],
        "DW_KD": kernel[0],
        "DW_KH": kernel[1],
        "DW_KW": kernel[2],
        "DW_SD": strides[0],
        "DW_SH": strides[1],
        "DW_SW": strides[2],
    }
    return [f"-D{k}={v}" for k, v in values.items()]


def build_baseline(name: str, spec: ConvSpec, work: Path) -> BaselineBuild | None:
    """Compile baseline ``name`` for ``spec`` to an object and assembly; None if it has none."""
    src = baseline_source(name, spec)
    if src is None:
        return None
    work.mkdir(parents=True, exist_ok=True)
    args = [clang(), *CFLAGS, "-I", src.parent, *shape_macros(spec), src]
    obj = work / f"{spec.name}.o"
    start = time.perf_counter()
    run([*args, "-c", "-o", obj], what=f"clang on {src.name} for {spec.name}")
    seconds = time.perf_counter() - start
    asm = run([*args, "-S", "-o", "-"], what=f"clang -S on {src.name}").stdout.decode()
    header = f"/* {name} baseline: {spec.describe()} */\n{c_prototype(spec)};\n"
    return BaselineBuild(name, src, obj.read_bytes(), asm, header, seconds)
