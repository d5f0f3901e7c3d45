"""Count the instructions a static aarch64 program executes inside one function.

qemu-aarch64 runs the program with our TCG plugin (``tools/qemu-plugin/insn_count.c``, built by
``tools/setup.sh`` into ``.deps/qemu-plugin/libinsn_count.so``). The plugin counts executed
instructions whose address lies in [start, start + size) of the named symbol, which only has a
fixed address in a non-PIE executable (``gcc -static``). Instructions of functions the kernel
calls are outside its range: name them too to count them.

Counts are exact and repeatable for single-threaded programs; they depend on the SVE vector
length only through the code itself (a VLA loop runs fewer iterations at a longer length).

``python -m dwmlir.bench.icount EXE SYMBOL [SYMBOL...] --vector-bits N [-- ARGS...]`` prints
``in_range=N total=M``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InternalError, ToolError, UserError
from ..toolchain import fixed_addresses, llvm_tool, qemu, repo_root, run

PLUGIN_ENV = "DWMLIR_ICOUNT_PLUGIN"
_PLUGIN_REL = Path(".deps/qemu-plugin/libinsn_count.so")
_PLUGIN_SRC_REL = Path("tools/qemu-plugin/insn_count.c")
_SETUP_FIX = "run tools/setup.sh (or tools/build-qemu-plugin.sh)"
_RESULT_RE = re.compile(r"^insns_in_range=(\d+) insns_total=(\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class IcountResult:
    in_range: int  # instructions executed inside the symbol(s)
    total: int  # all instructions the program executed (startup and libc included)


def built_plugin(env: str, rel: Path, src_rel: Path, fix: str, what: str) -> Path:
    """A plugin library tools/ builds into .deps: ``$env`` if set, else ``rel`` in the source
    checkout; a ToolError (saying ``fix``) if it is missing or older than ``src_rel``."""
    given = os.environ.get(env)
    if given:
        path = Path(given)
        if not path.is_file():
            raise ToolError(f"{env}={given} does not exist: {fix}, or unset {env}")
        return path
    root = repo_root()
    if root is None:
        raise ToolError(
            f"no dwmlir source checkout, so no {what} plugin: set {env} to a built {rel.name} "
            f"({fix} in a checkout)"
        )
    path, src = root / rel, root / src_rel
    if not path.is_file():
        raise ToolError(f"{what} qemu plugin {path} not built: {fix}")
    if src.is_file() and src.stat().st_mtime > path.stat().st_mtime:
        raise ToolError(f"{what} qemu plugin {path} is older than {src}: {fix}")
    return path


def plugin_path() -> Path:
    """The built instruction-count plugin."""
    return built_plugin(PLUGIN_ENV, _PLUGIN_REL, _PLUGIN_SRC_REL, _SETUP_FIX, "instruction-count")


def _parse_size(text: str) -> int:
    # llvm-readelf prints sizes in decimal, switching to 0x-prefixed hex for big ones.
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def symbol_range(exe: Path, symbol: str) -> tuple[int, int]:
    """[start, end) of function ``symbol`` in the static (non-PIE) executable ``exe``."""
    if not Path(exe).is_file():
        raise UserError(f"no such program {exe}: check the path")
    proc = run(
        [llvm_tool("llvm-readelf"), "--file-header", "--symbols", "--wide", exe],
        what=f"llvm-readelf on {exe}",
    )
    text = proc.stdout.decode(errors="replace")
    m = re.search(r"^\s*Type:\s*(\S+)", text, re.MULTILINE)
    if not m:
        raise InternalError(f"llvm-readelf printed no ELF type for {exe}")
    if m.group(1) != "EXEC":
        raise UserError(
            f"{exe} is ELF type {m.group(1)}, not a fixed-address executable: link it with "
            "-static (not -static-pie), so function addresses are known before it runs"
        )
    found: set[tuple[int, int]] = set()
    for line in text.splitlines():
        # "Num: Value Size Type Bind Vis [extra visibility flags] Ndx Name"; the name is last
        # (C symbols have no spaces) and the Vis column may hold several words, e.g.
        # "DEFAULT [VARIANT_PCS]" for functions with SVE arguments.
        fields = line.split()
        if (
            len(fields) < 8
            or not re.fullmatch(r"\d+:", fields[0])
            or fields[-1] != symbol
            or fields[3] != "FUNC"
            or fields[-2] == "UND"
        ):
            continue
        start = int(fields[1], 16)
        found.add((start, start + _parse_size(fields[2])))
    if not found:
        raise UserError(f"no function symbol '{symbol}' in {exe} (stripped, inlined or misspelt?)")
    if len(found) > 1:
        ranges = ", ".join(f"[{lo:#x}, {hi:#x})" for lo, hi in sorted(found))
        raise UserError(f"'{symbol}' names several functions in {exe}: {ranges}")
    ((lo, hi),) = found
    if lo == hi:
        raise UserError(f"'{symbol}' in {exe} has size 0 (an assembly function without .size?)")
    return lo, hi


def _check_vector_bits(bits: int) -> int:
    if not (128 <= bits <= 2048 and bits % 128 == 0):
        raise UserError(f"invalid SVE vector length {bits}: use a multiple of 128 from 128 to 2048 bits")
    return bits


def run_with_plugin(
    exe: Path,
    args: Sequence[str | os.PathLike[str]],
    symbols: Sequence[str],
    vector_bits: int,
    *,
    plugin: Path,
    options: Sequence[str] = (),
    emulator: Path | None = None,
    what: str,
    timeout: float = 600,
) -> str:
    """Run ``exe args...`` under qemu-aarch64 (``emulator``, default ``qemu()``) at
    ``vector_bits`` with ``plugin`` watching the functions ``symbols``, and return what the
    plugin printed. ``options``: further ``key=value`` plugin arguments."""
    if not symbols:
        raise UserError(f"{what} needs at least one symbol")
    _check_vector_bits(vector_bits)
    # QEMU splits -plugin on commas; a literal comma in the path is written ",,".
    plugin_arg = str(plugin).replace(",", ",,")
    for lo, hi in (symbol_range(exe, s) for s in symbols):
        plugin_arg += f",lo={lo:#x},hi={hi:#x}"
    for opt in options:
        plugin_arg += f",{opt}"
    with tempfile.TemporaryDirectory(prefix="dwmlir-plugin-") as tmp:
        log = Path(tmp) / "plugin.log"
        cmd = [
            emulator or qemu(),
            "-cpu",
            f"max,sve-default-vector-length={vector_bits // 8}",
            "-plugin",
            plugin_arg,
            "-d",
            "plugin",
            "-D",
            log,
            exe,
            *args,
        ]
        run(
            cmd,
            what=f"{Path(exe).name} under qemu-aarch64 with the {what}",
            timeout=timeout,
            ours=True,
            prefix=fixed_addresses(),  # the same guest addresses, so the same cache sets, every run
        )
        return log.read_text(errors="replace") if log.is_file() else ""


def count_instructions(
    exe: Path,
    args: Sequence[str | os.PathLike[str]],
    symbol: str | Sequence[str],
    vector_bits: int,
    *,
    timeout: float = 600,
) -> IcountResult:
    """Run ``exe args...`` under qemu-aarch64 at ``vector_bits`` and count the instructions it
    executes inside ``symbol`` (or any of several symbols) and in total.

    The program must exit with status 0 (else InternalError: a benchmark harness that fails is
    our bug). Its stdout/stderr are discarded.
    """
    symbols = [symbol] if isinstance(symbol, str) else list(symbol)
    out = run_with_plugin(
        exe, args, symbols, vector_bits, plugin=plugin_path(), what="instruction counter", timeout=timeout
    )
    matches = _RESULT_RE.findall(out)
    if len(matches) != 1:
        raise InternalError(
            f"instruction-count plugin printed {len(matches)} result lines for {exe} (expected 1): "
            f"{out.strip()[:200]!r}"
        )
    in_range, total = map(int, matches[0])
    return IcountResult(in_range=in_range, total=total)


def split_program_args(argv: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """A measuring CLI's own arguments, and the program's (after ``--``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    return argv[:split], argv[split + 1 :]


def main(argv: Sequence[str] | None = None) -> int:
    argv, prog_args = split_program_args(argv)
    parser = argparse.ArgumentParser(
        prog="python -m dwmlir.bench.icount",
        description="Count instructions executed inside functions of a static aarch64 program.",
        epilog="Arguments after -- go to the program.",
    )
    parser.add_argument("exe", type=Path)
    parser.add_argument("symbols", nargs="+", metavar="SYMBOL", help="function(s) to count in")
    parser.add_argument("--vector-bits", type=int, required=True, help="SVE vector length in bits")
    ns = parser.parse_args(argv)

    def line() -> str:
        res = count_instructions(ns.exe, prog_args, ns.symbols, ns.vector_bits)
        return f"in_range={res.in_range} total={res.total}"

    return print_result(line)


def print_result(line: Callable[[], str]) -> int:
    """A measuring CLI's exit: print ``line()``, or one error line (exit 2 for the user's
    errors, 1 for ours)."""
    try:
        text = line()
    except UserError as exc:
        print(f"dwmlir: error: {exc}", file=sys.stderr)
        return 2
    except InternalError as exc:
        print(f"dwmlir: internal error: {exc}", file=sys.stderr)
        return 1
    try:
        print(text, flush=True)
    except BrokenPipeError:  # the reader stopped early (``| head``), as it may
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # for the flush at exit
    return 0


if __name__ == "__main__":
    sys.exit(main())
