"""Where a function's executed instructions go: counts per basic block, under qemu.

The instruction-count plugin (``icount``) with ``profile=1`` counts every instruction of the
function on its own; this module cuts the function's disassembly (llvm-objdump) into basic
blocks and reports each block's length, how often it ran, and its share of the function's
executed instructions, hottest first, with the hottest blocks' code. It is how a kernel's
count is taken apart: which loop runs how often, and what a block spends on addresses,
loads and FMAs.

``python -m dwmlir.bench.profile EXE SYMBOL --vector-bits N [--top K] [-- ARGS...]``, or
``--kernel NAME [--dynamic]`` for a kernel of ``dwmlir bench`` (built, with the bench's
driver, on its random operands; NAME_part when NAME only calls it). One function at a time:
a fused expand block's GEMMs are functions of their own (``NAME__ex0``, ``NAME__pw0``...,
``rewrite.outline``), each profiled by its symbol.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..artefact.compile import whole_calls_part
from ..errors import InternalError
from ..ir.builder import PART_SUFFIX
from ..spec import as_block
from ..target import get_target
from ..toolchain import llvm_tool, run
from .icount import plugin_path, print_result, run_with_plugin, split_program_args, symbol_range
from .runner import kernel_program
from .suite import select

_INSN_RE = re.compile(r"^insn 0x([0-9a-f]+) (\d+)$", re.MULTILINE)
_TOTAL_RE = re.compile(r"^insns_in_range=(\d+) insns_total=(\d+)$", re.MULTILINE)
_LINE_RE = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*?)\s*$")
_TARGET_RE = re.compile(r"(?:^|[\s,])(?:0x)?([0-9a-f]+) <")
# Instructions that end a basic block: branches (their targets start one) and returns.
_ENDS_BLOCK = re.compile(r"^(b|b\.\w+|bc\.\w+|br|blr|ret|cbn?z|tbn?z)$")


@dataclass
class Block:
    """A basic block: its instructions (address, mnemonic, operands) and how often it ran."""

    insns: list[tuple[int, str, str]]
    runs: int

    @property
    def start(self) -> int:
        return self.insns[0][0]

    @property
    def executed(self) -> int:
        return self.runs * len(self.insns)


@dataclass
class Profile:
    symbol: str
    vector_bits: int
    in_range: int  # every instruction executed inside the symbol
    blocks: list[Block]


def count_per_instruction(
    exe: Path, args: Sequence[str | os.PathLike[str]], symbol: str, vector_bits: int
) -> tuple[dict[int, int], int]:
    """({address: times executed}, instructions executed in ``symbol``) for one run."""
    out = run_with_plugin(
        exe, args, [symbol], vector_bits, plugin=plugin_path(), options=["profile=1"], what="profiler"
    )
    totals = _TOTAL_RE.findall(out)
    if len(totals) != 1:
        raise InternalError(f"the profiling plugin printed no result line for {exe}: {out.strip()[:200]!r}")
    return {int(a, 16): int(n) for a, n in _INSN_RE.findall(out)}, int(totals[0][0])


def disassemble(exe: Path, symbol: str) -> list[tuple[int, str, str]]:
    """(address, mnemonic, operands) of every instruction of ``symbol``."""
    proc = run(
        [llvm_tool("llvm-objdump"), "-d", "--no-show-raw-insn", f"--disassemble-symbols={symbol}", exe],
        what=f"llvm-objdump on {exe}",
    )
    insns = []
    for line in proc.stdout.decode(errors="replace").splitlines():
        m = _LINE_RE.match(line)
        if m:
            insns.append((int(m[1], 16), m[2], m[3]))
    return insns


def basic_blocks(insns: Sequence[tuple[int, str, str]], counts: dict[int, int]) -> list[Block]:
    """``insns`` cut at branch targets and after branches; a block's runs are its first
    instruction's count (the others run as often, the block having one entry)."""
    if not insns:
        return []
    lo, hi = insns[0][0], insns[-1][0]
    leaders = {lo}
    for i, (_, mnemonic, operands) in enumerate(insns):
        if _ENDS_BLOCK.match(mnemonic):
            if i + 1 < len(insns):
                leaders.add(insns[i + 1][0])
            m = _TARGET_RE.search(operands)
            if m and lo <= int(m[1], 16) <= hi:
                leaders.add(int(m[1], 16))
    blocks: list[Block] = []
    for insn in insns:
        if insn[0] in leaders:
            blocks.append(Block([], counts.get(insn[0], 0)))
        blocks[-1].insns.append(insn)
    return blocks


def profile(exe: Path, args: Sequence[str | os.PathLike[str]], symbol: str, vector_bits: int) -> Profile:
    """Run ``exe args...`` at ``vector_bits`` and profile ``symbol``."""
    lo, hi = symbol_range(exe, symbol)  # also a clear error for a missing or ambiguous symbol
    counts, in_range = count_per_instruction(exe, args, symbol, vector_bits)
    insns = [i for i in disassemble(exe, symbol) if lo <= i[0] < hi]  # not the padding after it
    return Profile(symbol, vector_bits, in_range, basic_blocks(insns, counts))


def render(prof: Profile, top: int) -> str:
    """The blocks that ran, hottest first, and the code of the ``top`` hottest."""
    ran = sorted((b for b in prof.blocks if b.runs), key=lambda b: (-b.executed, b.start))
    total = sum(b.executed for b in ran)
    lines = [
        f"{prof.symbol} at {prof.vector_bits} bits: {prof.in_range} instructions executed, "
        f"{len(ran)} of {len(prof.blocks)} basic blocks ran",
        f"{'block':>12} {'insns':>6} {'runs':>10} {'executed':>12} {'share':>7}",
    ]
    for b in ran:
        share = b.executed / total
        lines.append(f"{b.start:#12x} {len(b.insns):6d} {b.runs:10d} {b.executed:12d} {share:7.1%}")
    if total != prof.in_range:
        lines.append(f"note: blocks sum to {total}, the counter to {prof.in_range} (a block left early?)")
    for b in ran[:top]:
        lines.append(f"\nblock {b.start:#x}: {len(b.insns)} instructions x {b.runs} runs")
        lines += [f"  {a:#x}  {m:<8} {ops}".rstrip() for a, m, ops in b.insns]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv, prog_args = split_program_args(argv)
    parser = argparse.ArgumentParser(
        prog="python -m dwmlir.bench.profile",
        description="Executed instructions per basic block of one function of a static aarch64 "
        "program, under qemu-aarch64 (hottest first).",
        epilog="Arguments after -- go to the program.",
    )
    parser.add_argument("exe", type=Path, nargs="?", help="a static (non-PIE) aarch64 executable")
    parser.add_argument("symbol", nargs="?", help="the function to profile")
    parser.add_argument("--vector-bits", type=int, required=True, help="SVE vector length in bits")
    parser.add_argument("--top", type=int, default=3, help="print the code of this many hottest blocks (3)")
    parser.add_argument(
        "--kernel",
        metavar="NAME",
        help="instead of EXE SYMBOL: a kernel of 'dwmlir bench --list' (NAME_part if NAME only calls it)",
    )
    parser.add_argument("--dynamic", action="store_true", help="with --kernel: its build with run-time sizes")
    ns = parser.parse_args(argv)
    by_name = ns.kernel is not None
    if (ns.exe is None, ns.symbol is None) != (by_name, by_name) or (by_name and prog_args):
        parser.error("give EXE SYMBOL [-- ARGS...], or --kernel NAME")
    if ns.dynamic and not ns.kernel:
        parser.error("--dynamic goes with --kernel")

    def text() -> str:
        if ns.kernel is None:
            return render(profile(ns.exe, prog_args, ns.symbol, ns.vector_bits), ns.top)
        (kernel,) = select([ns.kernel], quick=False)
        symbol = kernel.spec.name
        if not ns.dynamic and whole_calls_part(as_block(kernel.spec), get_target("aarch64-sve")):
            symbol += PART_SUFFIX  # NAME only calls it
        with tempfile.TemporaryDirectory(prefix="dwmlir-profile-") as tmp:
            exe, args = kernel_program(kernel, Path(tmp), ns.dynamic)
            return render(profile(exe, args, symbol, ns.vector_bits), ns.top)

    return print_result(text)


if __name__ == "__main__":
    sys.exit(main())
