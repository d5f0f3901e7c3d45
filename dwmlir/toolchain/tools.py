"""Every external tool dwmlir runs is found, version-checked and invoked here.

Lookup order for each tool: an explicit environment variable, then the LLVM 22 directory
that ``tools/setup.sh`` installs. Nothing is ever run through a shell.
"""

from __future__ import annotations

import functools
import math
import os
import platform
import re
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InternalError, ToolCrash, ToolError
from . import native

LLVM_VERSION = "22.1.8"
DEFAULT_LLVM_DIR = "/usr/lib/llvm-22/bin"
SETUP_HINT = "run tools/setup.sh"


def repo_root() -> Path | None:
    """The source checkout holding this package (editable installs), if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def llvm_dir() -> Path:
    return Path(os.environ.get("DWMLIR_LLVM_DIR", DEFAULT_LLVM_DIR))


def sysroot() -> Path:
    """Unpacked Debian arm64 packages: the aarch64 mlir-runner and MLIR runtime libraries."""
    env = os.environ.get("DWMLIR_AARCH64_SYSROOT")
    if env:
        return Path(env)
    root = repo_root()
    return (root / ".deps" / "aarch64-sysroot") if root else Path("/nonexistent-aarch64-sysroot")


def host_is_aarch64() -> bool:
    return platform.machine() in ("aarch64", "arm64")


@functools.cache
def _llvm_tool(name: str) -> Path:
    path = llvm_dir() / name
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ToolError(
            f"{name} not found in {llvm_dir()}: {SETUP_HINT}, or set DWMLIR_LLVM_DIR to the bin "
            f"directory of an LLVM/MLIR {LLVM_VERSION} build"
        )
    out = _version_text(path, name)
    m = re.search(r"(?:LLVM version|LLD) (\d+\.\d+\.\d+)", out)
    if not m or m.group(1) != LLVM_VERSION:
        found = m.group(1) if m else "unknown"
        raise ToolError(
            f"{path} is LLVM {found} but dwmlir needs {LLVM_VERSION}: {SETUP_HINT}, or point "
            f"DWMLIR_LLVM_DIR at an LLVM {LLVM_VERSION} bin directory"
        )
    return path


def llvm_tool(name: str) -> Path:
    """Path of an LLVM/MLIR tool (``llc``, ``mlir-translate``...), checked to be 22.1.8."""
    return _llvm_tool(name)


def _version_text(path: Path, what: str) -> str:
    """``path --version`` (stdout and stderr), with a short timeout; empty if it fails."""
    try:
        proc = subprocess.run([str(path), "--version"], capture_output=True, check=False, timeout=60)
    except subprocess.TimeoutExpired:
        raise ToolCrash(f"{what} --version timed out after 60 s ({path}): {SETUP_HINT}") from None
    except OSError as exc:
        raise ToolError(f"cannot run {what} ({path}): {exc.strerror or exc}: {SETUP_HINT}") from None
    if proc.returncode != 0:
        return ""
    return (proc.stdout + proc.stderr).decode(errors="replace")


@functools.cache
def _which(env: str, name: str, hint: str) -> Path:
    """``$env`` (a path or a command on PATH), else ``name`` on PATH: an executable file."""
    value = shutil.which(os.environ.get(env) or name)
    if not value or not os.path.isfile(value):
        raise ToolError(f"{name} not found: {hint} (or set {env})")
    return Path(value)


@functools.cache
def _checked(env: str, name: str, hint: str, want: str, flag: str = "--version", label: str = "") -> Path:
    """``_which``, then ``tool --version`` (or ``flag``) must mention ``want``."""
    path = _which(env, name, hint)
    try:
        proc = subprocess.run([str(path), flag], capture_output=True, check=False, timeout=60)
        out = (proc.stdout + proc.stderr).decode(errors="replace") if proc.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    if want not in out:
        source = f"{env}={os.environ[env]}" if os.environ.get(env) else str(path)
        raise ToolError(
            f"{source} is not a working {label or name} ('{path.name} {flag}' does not say {want}): "
            f"{hint}, or set {env} to one"
        )
    return path


def cross_cc() -> Path:
    """C compiler producing static aarch64 Linux executables (for test harnesses)."""
    if host_is_aarch64():
        return _which("DWMLIR_AARCH64_CC", "cc", "install a C compiler")
    return _checked(
        "DWMLIR_AARCH64_CC",
        "aarch64-linux-gnu-gcc",
        f"{SETUP_HINT} to install gcc-aarch64-linux-gnu",
        "aarch64",
        "-dumpmachine",
        "aarch64 C compiler",
    )


def host_cc() -> Path:
    """The build machine's C compiler (for the ``host`` target's test drivers)."""
    return _which("DWMLIR_HOST_CC", "cc", "install gcc")


def qemu() -> Path:
    return _checked("ARM_EMULATOR_EXECUTABLE", "qemu-aarch64", f"{SETUP_HINT} to install qemu-user", "qemu")


CACHE_QEMU_ENV = "DWMLIR_CACHE_QEMU"


def cache_qemu() -> Path:
    """qemu-aarch64 10 with TCG plugins, for the cache model: QEMU 7.2 (``qemu()``) hides SVE
    vector accesses from plugins. ``tools/build-qemu-cache.sh`` builds it into .deps."""
    env = os.environ.get(CACHE_QEMU_ENV)
    root = repo_root()
    path = Path(env) if env else (root / ".deps/qemu-cache/bin/qemu-aarch64" if root else None)
    source = f"{CACHE_QEMU_ENV}={env}" if env else str(path)
    if path is None:
        raise ToolError(
            f"no dwmlir source checkout, so no cache-model qemu: set {CACHE_QEMU_ENV} to a "
            "qemu-aarch64 >= 9 built with --enable-plugins"
        )
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ToolError(f"cache-model qemu {source} not found: {SETUP_HINT} (or tools/build-qemu-cache.sh)")
    out = _version_text(path, "qemu-aarch64")
    m = re.search(r"version (\d+)\.", out)
    if not m or int(m.group(1)) < 9:
        raise ToolError(
            f"{source} is not qemu-aarch64 9 or newer ({out.splitlines()[0] if out else 'no version'}): "
            f"older versions hide SVE loads and stores from plugins; {SETUP_HINT}"
        )
    return path


@dataclass(frozen=True)
class AArch64Runtime:
    """The aarch64 mlir-runner and runtime libraries used by the JIT path."""

    sysroot: Path
    runner: Path
    lib_dir: Path

    def lib(self, name: str) -> Path:
        for cand in (f"lib{name}.so", f"lib{name}.so.22.1"):
            if (self.lib_dir / cand).exists():
                return self.lib_dir / cand
        raise ToolError(f"lib{name}.so not found in {self.lib_dir}: {SETUP_HINT}")


def aarch64_runtime() -> AArch64Runtime:
    if host_is_aarch64():
        return AArch64Runtime(Path("/"), llvm_tool("mlir-runner"), llvm_dir().parent / "lib")
    root = sysroot()
    runner = root / "usr/lib/llvm-22/bin/mlir-runner"
    if not runner.is_file():
        raise ToolError(
            f"aarch64 mlir-runner not found in sysroot {root}: {SETUP_HINT}, or set "
            "DWMLIR_AARCH64_SYSROOT to an unpacked Debian arm64 LLVM 22.1.8 sysroot"
        )
    return AArch64Runtime(root, runner, root / "usr/lib/llvm-22/lib")


def qemu_prefix(vector_bits: int | None, runtime: AArch64Runtime | None = None) -> list[str]:
    """Command prefix that runs an aarch64 program at the given SVE vector length.

    On an aarch64 machine with SVE the program runs natively, at ``vector_bits`` when the CPU
    offers that length (``None``: its default length); any other length goes to qemu.
    """
    if host_is_aarch64() and native.host_has_sve():
        if vector_bits is None:
            return []
        if vector_bits in native.native_vector_bits():
            return native.launcher(vector_bits)
    try:
        cmd = [str(qemu())]
    except ToolError:
        if not host_is_aarch64():
            raise
        offered = ",".join(map(str, native.native_vector_bits())) or "none (no SVE)"
        raise ToolError(
            f"this CPU runs SVE natively at {offered} bits, not {vector_bits}: {SETUP_HINT} to "
            "install qemu-user (or set ARM_EMULATOR_EXECUTABLE), or run at a length it offers"
        ) from None
    if runtime is not None:
        libs = f"{runtime.sysroot}/usr/lib/llvm-22/lib:{runtime.sysroot}/usr/lib/aarch64-linux-gnu"
        cmd += ["-L", str(runtime.sysroot), "-E", f"LD_LIBRARY_PATH={libs}"]
    cpu = "max" if vector_bits is None else f"max,sve-default-vector-length={vector_bits // 8}"
    return cmd + ["-cpu", cpu]


# A core with NEON but without SVE: running NEON builds here proves they use no SVE.
NEON_ONLY_CPU = "cortex-a72"


def exec_prefix(target, vector_bits: int | None, runtime: AArch64Runtime | None = None) -> list[str]:
    """How to run a program built for ``target``: natively, or under qemu at a vector length."""
    if target.arch == "x86_64":
        return []
    if target.scalable:
        return qemu_prefix(vector_bits, runtime)
    if host_is_aarch64():
        return []
    return [*qemu_prefix(None, runtime)[:-2], "-cpu", NEON_ONLY_CPU]


DEFAULT_TOOL_TIMEOUT = 600.0
TIMEOUT_ENV = "DWMLIR_TOOL_TIMEOUT"


def tool_timeout() -> float:
    """Seconds any one external tool may run: ``$DWMLIR_TOOL_TIMEOUT``, default 600."""
    text = os.environ.get(TIMEOUT_ENV)
    if text is None or not text.strip():
        return DEFAULT_TOOL_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise ToolError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds > 0: set it to e.g. 600")
    return value


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    what: str,
    input: bytes | None = None,
    timeout: float | None = None,
    ours: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run a tool with a timeout (``tool_timeout()`` unless given).

    A tool that cannot start, crashes (killed by a signal) or times out is the environment's
    problem (``ToolCrash``, exit 2), unless ``ours``: a program we generated (a kernel
    under qemu), whose crash is our bug. A tool that exits non-zero on input we generated is
    our bug too (``InternalError``).
    """
    argv = [os.fspath(a) for a in args]
    limit = tool_timeout() if timeout is None else timeout
    bug = InternalError if ours else ToolCrash
    try:
        proc = subprocess.run(argv, input=input, capture_output=True, check=False, timeout=limit)
    except FileNotFoundError as exc:
        raise ToolError(f"cannot run {argv[0]}: {exc.strerror}: {SETUP_HINT}") from None
    except OSError as exc:
        raise ToolError(f"cannot run {what} ({argv[0]}): {exc.strerror or exc}: {SETUP_HINT}") from None
    except subprocess.TimeoutExpired:
        raise bug(
            f"{what} timed out after {limit:g} s ({argv[0]}); raise {TIMEOUT_ENV} if it needs longer"
        ) from None
    if proc.returncode < 0:
        fix = "" if ours else f"; {SETUP_HINT} to reinstall the toolchain"
        raise bug(f"{what} crashed with {_signal_name(proc.returncode)} ({argv[0]}){fix}")
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise InternalError(f"{what} failed (exit {proc.returncode}): {' | '.join(tail)}")
    return proc


def versions() -> dict[str, str]:
    """Tool versions for reports."""
    out: dict[str, str] = {"llvm": LLVM_VERSION}
    try:
        first = run([qemu(), "--version"], what="qemu-aarch64 --version").stdout.decode().splitlines()
        out["qemu"] = first[0] if first else "unknown"
    except (ToolError, InternalError):
        out["qemu"] = "missing"
    try:
        first = _version_text(cache_qemu(), "qemu-aarch64").splitlines()
        out["cache_model_qemu"] = first[0] if first else "unknown"
    except ToolError:
        out["cache_model_qemu"] = "missing"
    return out
