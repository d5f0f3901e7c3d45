"""Model a two-level data cache for the accesses one function of a program makes.

The bench's memory model: instruction counts do not see a kernel that sweeps its input from
DRAM once per channel step. Our TCG plugin (``tools/qemu-plugin/cache_model.c``) feeds every
load and store made by instructions inside the named functions, SVE vector accesses, gathers
and first-fault loads included, through set-associative LRU caches, and reports L1 misses and
DRAM traffic. It runs on QEMU 10 (``toolchain.cache_qemu``): QEMU 7.2 hides SVE accesses from
plugins. ``tools/build-qemu-cache.sh`` builds both.

``python -m dwmlir.bench.cache EXE SYMBOL [SYMBOL...] --vector-bits N [-- ARGS...]`` prints
the plugin's counts.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InternalError
from ..toolchain import cache_qemu
from .icount import built_plugin, print_result, run_with_plugin

PLUGIN_ENV = "DWMLIR_CACHE_PLUGIN"
_PLUGIN_REL = Path(".deps/qemu-plugin/libcache_model.so")
_PLUGIN_SRC_REL = Path("tools/qemu-plugin/cache_model.c")
_SETUP_FIX = "run tools/setup.sh (or tools/build-qemu-cache.sh)"
_FIELDS = ("insns", "accesses", "l1_misses", "l2_misses", "dram_read_bytes", "dram_write_bytes")
_RESULT_RE = re.compile(r"^cache " + " ".join(rf"{f}=(\d+)" for f in _FIELDS) + "$", re.MULTILINE)


@dataclass(frozen=True)
class CacheConfig:
    """Cache geometry; the default is Neoverse V1's (Graviton3): 64 KiB 4-way L1D, 1 MiB
    8-way L2, 64-byte lines."""

    l1_bytes: int = 64 * 1024
    l1_assoc: int = 4
    l2_bytes: int = 1024 * 1024
    l2_assoc: int = 8
    line: int = 64

    def plugin_options(self) -> list[str]:
        return [
            f"l1={self.l1_bytes}",
            f"l1_assoc={self.l1_assoc}",
            f"l2={self.l2_bytes}",
            f"l2_assoc={self.l2_assoc}",
            f"line={self.line}",
        ]

    def describe(self) -> str:
        return (
            f"{_size(self.l1_bytes)} {self.l1_assoc}-way L1D, {_size(self.l2_bytes)} {self.l2_assoc}-way L2, "
            f"{self.line}-byte lines, LRU"
        )


NEOVERSE_V1 = CacheConfig()


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n % (1 << 20) == 0 else f"{n >> 10} KiB" if n % 1024 == 0 else f"{n} B"


@dataclass(frozen=True)
class CacheResult:
    instructions: int  # executed inside the functions
    accesses: int  # memory accesses they made (an SVE access counts once per active element)
    l1_misses: int
    l2_misses: int
    dram_read_bytes: int
    dram_write_bytes: int

    @property
    def dram_bytes(self) -> int:
        return self.dram_read_bytes + self.dram_write_bytes


def plugin_path() -> Path:
    """The built cache-model plugin."""
    return built_plugin(PLUGIN_ENV, _PLUGIN_REL, _PLUGIN_SRC_REL, _SETUP_FIX, "cache-model")


def model_cache(
    exe: Path,
    args: Sequence[str | os.PathLike[str]],
    symbol: str | Sequence[str],
    vector_bits: int,
    config: CacheConfig = NEOVERSE_V1,
    *,
    timeout: float = 600,
) -> CacheResult:
    """Run ``exe args...`` under the cache-model qemu at ``vector_bits`` and model the caches
    for the accesses made inside ``symbol`` (or several symbols). The caches start cold at the
    first such access; the program must exit with status 0."""
    symbols = [symbol] if isinstance(symbol, str) else list(symbol)
    out = run_with_plugin(
        exe,
        args,
        symbols,
        vector_bits,
        plugin=plugin_path(),
        options=config.plugin_options(),
        emulator=cache_qemu(),
        what="cache model",
        timeout=timeout,
    )
    matches = _RESULT_RE.findall(out)
    if len(matches) != 1:
        raise InternalError(
            f"cache-model plugin printed {len(matches)} result lines for {exe} (expected 1): "
            f"{out.strip()[:200]!r}"
        )
    return CacheResult(*map(int, matches[0]))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    argv, prog_args = argv[:split], argv[split + 1 :]
    d = NEOVERSE_V1
    parser = argparse.ArgumentParser(
        prog="python -m dwmlir.bench.cache",
        description="Model a two-level data cache for the accesses made inside functions of a "
        "static aarch64 program (default geometry: Neoverse V1).",
        epilog="Arguments after -- go to the program.",
    )
    parser.add_argument("exe", type=Path)
    parser.add_argument("symbols", nargs="+", metavar="SYMBOL", help="function(s) whose accesses to model")
    parser.add_argument("--vector-bits", type=int, required=True, help="SVE vector length in bits")
    for flag, default, meta, what in (
        ("--l1", d.l1_bytes, "BYTES", "L1D size"),
        ("--l1-assoc", d.l1_assoc, "WAYS", "L1D ways"),
        ("--l2", d.l2_bytes, "BYTES", "L2 size"),
        ("--l2-assoc", d.l2_assoc, "WAYS", "L2 ways"),
        ("--line", d.line, "BYTES", "line size of both levels"),
    ):
        parser.add_argument(flag, type=int, default=default, metavar=meta, help=f"{what} (default {default})")
    ns = parser.parse_args(argv)
    config = CacheConfig(ns.l1, ns.l1_assoc, ns.l2, ns.l2_assoc, ns.line)
    for size, ways, name in ((ns.l1, ns.l1_assoc, "--l1"), (ns.l2, ns.l2_assoc, "--l2")):
        line_ok = ns.line >= 8 and ns.line & (ns.line - 1) == 0
        if not (line_ok and 1 <= ways <= 64 and size > 0 and size % (ways * ns.line) == 0):
            print(
                f"dwmlir: error: {name} {size} with {ways} ways and {ns.line}-byte lines is no cache: "
                "use a power-of-two line of at least 8 bytes, 1 to 64 ways, and a size that is a "
                "multiple of ways * line",
                file=sys.stderr,
            )
            return 2

    def line() -> str:
        res = model_cache(ns.exe, prog_args, ns.symbols, ns.vector_bits, config)
        return (
            f"insns={res.instructions} accesses={res.accesses} l1_misses={res.l1_misses} "
            f"l2_misses={res.l2_misses} dram_read_bytes={res.dram_read_bytes} "
            f"dram_write_bytes={res.dram_write_bytes}"
        )

    return print_result(line)


if __name__ == "__main__":
    sys.exit(main())
