"""Every external tool dwmlir runs is found, version-checked and invoked here.

Lookup order for each tool: an explicit environment variable, then the LLVM 22 directory
that ``tools/setup.sh`` installs. Nothing is ever run through a shell.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
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
    given = os.environ.get(env)
    value = shutil.which(given or name)
    if not value or not os.path.isfile(value):
        if given:
            fix = f"point it at {name}, or unset it ({hint})"
            raise ToolError(f"{env}={given} is not an executable file: {fix}")
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


@functools.cache
def fixed_addresses() -> list[str]:
    """A command prefix that turns address-space randomization off (``setarch MACHINE -R``),
    or [] where setarch is missing or the kernel refuses it (some containers). The cache
    model runs under it: with randomized mmap and stack addresses its L1 misses varied by
    0.2 % and its DRAM bytes by up to 2 % between runs of the same program; with it, L1
    misses repeat exactly and, in the runs we made, DRAM bytes took one of two values 1 %
    apart (QEMU's own threads may still race for some mappings)."""
    exe = shutil.which("setarch")
    if exe is None:
        return []
    prefix = [exe, platform.machine(), "-R"]
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return prefix if probe.returncode == 0 else []


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
    prefix: Sequence[str] = (),
) -> subprocess.CompletedProcess[bytes]:
    """Run a tool with a timeout (``tool_timeout()`` unless given), after ``prefix`` (a
    program that execs it, such as ``fixed_addresses()``; messages still name the tool).

    A tool that cannot start, crashes (killed by a signal) or times out is the environment's
    problem (``ToolCrash``, exit 2), unless ``ours``: a program we generated (a kernel
    under qemu), whose crash is our bug. A tool that exits non-zero on input we generated is
    our bug too (``InternalError``).
    """
    argv = [os.fspath(a) for a in args]
    tool = argv[0]
    limit = tool_timeout() if timeout is None else timeout
    try:
        proc = subprocess.run([*prefix, *argv], input=input, capture_output=True, check=False, timeout=limit)
    except OSError as exc:
        raise _cannot_start(exc, tool, what) from None
    except subprocess.TimeoutExpired:
        raise _timed_out(what, tool, limit, ours) from None
    _check_exit(proc.returncode, proc.stderr, what, tool, ours)
    return proc


def _cannot_start(exc: OSError, tool: str, what: str) -> ToolError:
    if isinstance(exc, FileNotFoundError):
        return ToolError(f"cannot run {tool}: {exc.strerror}: {SETUP_HINT}")
    return ToolError(f"cannot run {what} ({tool}): {exc.strerror or exc}: {SETUP_HINT}")


_TIMED_OUT = " timed out after "


def _timed_out(what: str, tool: str, limit: float, ours: bool) -> Exception:
    bug = InternalError if ours else ToolCrash
    return bug(f"{what}{_TIMED_OUT}{limit:g} s ({tool}); raise {TIMEOUT_ENV} if it needs longer")


def timed_out(exc: BaseException) -> bool:
    """Whether ``exc`` is ``run``'s error for a tool past its timeout (not a crash or a
    failing exit)."""
    return isinstance(exc, (InternalError, ToolCrash)) and _TIMED_OUT in str(exc)


def _check_exit(returncode: int, stderr: bytes, what: str, tool: str, ours: bool) -> None:
    if returncode < 0:
        fix = "" if ours else f"; {SETUP_HINT} to reinstall the toolchain"
        bug = InternalError if ours else ToolCrash
        raise bug(f"{what} crashed with {_signal_name(returncode)} ({tool}){fix}")
    if returncode != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise InternalError(f"{what} failed (exit {returncode}): {' | '.join(tail)}")


@dataclass(frozen=True)
class Step:
    """One tool run of ``run_chains``: it reads ``stdin`` (a file; None: nothing) and writes
    the files its arguments name. It starts after the step before it in its chain and after
    the steps ``after`` names, as (chain, step) indices."""

    args: Sequence[str | os.PathLike[str]]
    what: str
    stdin: Path | None = None
    after: tuple[tuple[int, int], ...] = ()


def run_chains(chains: Sequence[Sequence[Step]]) -> None:
    """Run each chain's steps one after another and the chains side by side (``Chains``),
    and wait for all of them."""
    running = Chains(chains)
    try:
        running.wait()
    finally:
        running.kill()


class Chains:
    """Chains of tool runs (``Step``), each chain's steps one after another, the chains side
    by side (a kernel and its ``NAME_part`` through opt and llc on two cores), started at
    once and driven by a thread while the caller goes on. Errors and timeouts are reported
    by ``wait`` as ``run`` reports them; on an error, or ``kill`` (a signal that unwinds
    dwmlir), every tool still running is killed."""

    def __init__(self, chains: Sequence[Sequence[Step]]) -> None:
        self._chains = chains
        self._limit = tool_timeout()
        self._running: dict[int, tuple[subprocess.Popen, object, float]] = {}
        self._next = [0] * len(chains)
        self._finished: set[tuple[int, int]] = set()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        # The driving thread and the caller's (kill, on a signal) both stop tools.
        self._lock = threading.Lock()
        try:
            self._start_ready()  # a tool that cannot start fails here, in the caller's thread
            self._thread = threading.Thread(target=self._drive, name="dwmlir-chains", daemon=True)
            self._thread.start()
        except BaseException:
            # Also a signal between two starts: no caller holds this object yet to kill() it,
            # and the tools already started would outlive dwmlir (seen once in the lit suite
            # on a loaded machine: a SIGHUP left one hanging tool).
            self._stop.set()
            self._kill_running()
            raise

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error

    def kill(self) -> None:
        self._stop.set()
        self._kill_running()  # first: the thread may be waiting on a tool to finish
        self._thread.join()
        self._kill_running()

    def _start_ready(self) -> None:
        for chain, steps in enumerate(self._chains):
            i = self._next[chain]
            if chain in self._running or i >= len(steps) or not self._finished.issuperset(steps[i].after):
                continue
            st = steps[i]
            argv = [os.fspath(a) for a in st.args]
            with self._lock:
                if self._stop.is_set():
                    return
                err = tempfile.TemporaryFile()
                try:
                    with open(st.stdin or os.devnull, "rb") as inp:
                        proc = subprocess.Popen(argv, stdin=inp, stdout=subprocess.DEVNULL, stderr=err)
                except OSError as exc:
                    err.close()
                    proc = None
                    error = _cannot_start(exc, argv[0], st.what)
                else:
                    self._running[chain] = (proc, err, time.monotonic())
            if proc is None:
                self._kill_running()
                raise error

    def _drive(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._running:
                    if any(n < len(steps) for n, steps in zip(self._next, self._chains, strict=True)):
                        raise InternalError("run_chains: steps wait on each other")
                    return
                with self._lock:
                    running = dict(self._running)
                done = [c for c, (proc, _, _) in running.items() if proc.poll() is not None]
                if not done:
                    for chain, (proc, _, started) in running.items():
                        if time.monotonic() - started > self._limit:
                            what = self._chains[chain][self._next[chain]].what
                            raise _timed_out(what, str(proc.args[0]), self._limit, False)
                    time.sleep(0.001)
                    continue
                for chain in done:
                    with self._lock:
                        entry = self._running.pop(chain, None)
                    if entry is None:  # kill() took it
                        continue
                    proc, err, _ = entry
                    err.seek(0)
                    stderr = err.read()
                    err.close()
                    what = self._chains[chain][self._next[chain]].what
                    _check_exit(proc.returncode, stderr, what, str(proc.args[0]), False)
                    self._finished.add((chain, self._next[chain]))
                    self._next[chain] += 1
                self._start_ready()
        except BaseException as exc:  # handed to wait(), in the caller's thread
            self._error = exc
        finally:
            self._kill_running()

    def _kill_running(self) -> None:
        with self._lock:
            running = list(self._running.values())
            self._running.clear()
        for proc, err, _ in running:
            with contextlib.suppress(OSError):
                proc.kill()
                proc.wait()
            err.close()


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
