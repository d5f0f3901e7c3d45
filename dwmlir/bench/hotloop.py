"""Find a kernel's hot loop in AArch64 assembly: the loop body doing the most FMAs.

llvm-mca needs straight-line code, and the number that says how good a conv kernel is comes
from the loop that holds the multiply-adds. Usually that is an innermost loop; but a kernel
may run its main work as straight-line code in an outer loop's body and keep only a tail in
a nested loop (a row of 14 columns done as 8 + 4 + one-at-a-time), so every loop's *own* body
(its blocks minus those of nested loops) competes, and the one with the most FMA-class
instructions wins; on a tie an innermost loop, then the first in layout order.

LLVM's verbose assembly marks loops (``// =>This Inner Loop Header: Depth=N`` or ``// =>This
Loop Header: Depth=N`` on a header, ``//   in Loop: Header=BB0_7 Depth=N`` on the other blocks
of the innermost loop holding them), so blocks are grouped by those comments. Assembly without
them (another compiler, ``-fno-verbose-asm``) falls back to back-branches: a branch to a label
at or above it closes a loop, and nested ranges are cut out of the enclosing one.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# Multiply(-accumulate) instructions that compute a conv's products. fmul counts: a kernel
# may start an accumulation with a product instead of adding to zero.
FMA_MNEMONICS = frozenset(
    "fmla fmls fmad fmsb fnmla fnmls fnmad fnmsb fmadd fmsub fnmadd fnmsub fmul "
    "mla mls mad msb mul sdot udot usdot sudot fdot bfdot fmmla smmla ummla".split()
)
# Registers of the FP/SIMD unit: an FMA-class mnemonic on x/w registers is address arithmetic.
_FP_REG = re.compile(r"^\{?\s*[zvsdhq]\d+", re.IGNORECASE)
_BRANCHES = frozenset("b br cbz cbnz tbz tbnz".split())
_LABEL = re.compile(r"^([A-Za-z_.$][\w.$]*):(.*)$")
_BB_COMMENT = re.compile(r"^//\s*%bb\.\d+:")
_HEADER = re.compile(r"=>\s*This (Inner )?Loop Header: Depth=(\d+)")
_IN_LOOP = re.compile(r"in Loop: Header=(\w+) Depth=(\d+)")


@dataclass(frozen=True)
class Instruction:
    line: int  # 1-based line number in the assembly text
    text: str  # the instruction without its comment
    mnemonic: str

    @property
    def kind(self) -> str:
        """fma, load, store, branch or other."""
        m = self.mnemonic
        if m in FMA_MNEMONICS:
            parts = self.text.split(None, 1)
            if len(parts) == 2 and _FP_REG.match(parts[1].strip()):
                return "fma"
        if m.startswith(("ld", "prf")):
            return "load"
        if m.startswith("st"):
            return "store"
        if m in _BRANCHES or m.startswith("b."):
            return "branch"
        return "other"

    @property
    def branch_target(self) -> str | None:
        if self.kind != "branch" or self.mnemonic == "br":
            return None
        return self.text.replace(",", " ").split()[-1]


@dataclass
class Block:
    label: str | None  # ".LBB0_7", or None for a fall-through block (// %bb.N:)
    comments: list[str] = field(default_factory=list)
    instructions: list[Instruction] = field(default_factory=list)
    first_line: int = 0

    @property
    def bb_name(self) -> str | None:
        """LLVM's name for the block in loop comments: .LBB0_7 -> BB0_7."""
        return self.label[2:] if self.label and self.label.startswith(".LBB") else None


@dataclass(frozen=True)
class Loop:
    """A loop's own body (nested loops cut out): its blocks in layout order, for llvm-mca."""

    header: str  # label of the header block, or of the back-branch target
    depth: int | None  # loop depth from the annotations (None from back-branches)
    innermost: bool
    labels: tuple[str, ...]  # the labels of its own blocks, in order
    instructions: tuple[Instruction, ...]

    @property
    def mix(self) -> Counter[str]:
        return Counter(i.kind for i in self.instructions)

    @property
    def fmas(self) -> int:
        return self.mix["fma"]

    @property
    def mnemonics(self) -> Counter[str]:
        return Counter(i.mnemonic for i in self.instructions)

    def mca_input(self) -> str:
        """The loop body as llvm-mca input (it takes branches to undefined labels as external)."""
        return "".join(f"\t{i.text}\n" for i in self.instructions)


def _strip_comment(text: str) -> str:
    return text.split("//", 1)[0].strip()


def parse_blocks(asm: str) -> list[Block]:
    """Split assembly into basic blocks (labels and ``// %bb.N:`` lines start one)."""
    blocks: list[Block] = [Block(label=None, first_line=1)]
    for number, raw in enumerate(asm.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        m = _LABEL.match(line)
        if m and not line.startswith("//"):
            blocks.append(Block(label=m.group(1), first_line=number))
            rest = m.group(2).strip()
            if rest.startswith("//"):
                blocks[-1].comments.append(rest)
            continue
        if _BB_COMMENT.match(line):
            blocks.append(Block(label=None, first_line=number, comments=[line]))
            continue
        if line.startswith("//"):
            # Loop comments follow the label on lines of their own, before any instruction.
            if not blocks[-1].instructions:
                blocks[-1].comments.append(line)
            continue
        code = _strip_comment(line)
        if not code or code.startswith("."):
            continue  # directive
        blocks[-1].instructions.append(Instruction(number, code, code.split()[0].lower()))
    return blocks


def _annotated_loops(blocks: list[Block]) -> list[Loop]:
    headers: dict[str, tuple[int, bool]] = {}  # bb name -> (depth, innermost)
    member_of: dict[int, str] = {}  # block index -> header of the innermost loop holding it
    for idx, block in enumerate(blocks):
        text = " ".join(block.comments)
        h = _HEADER.search(text)
        if h and block.bb_name:
            headers[block.bb_name] = (int(h.group(2)), bool(h.group(1)))
            member_of[idx] = block.bb_name
        elif m := _IN_LOOP.search(text):
            member_of[idx] = m.group(1)
    loops: list[Loop] = []
    for name, (depth, innermost) in headers.items():
        members = [blocks[i] for i in sorted(i for i, n in member_of.items() if n == name)]
        labels = tuple(b.label for b in members if b.label)
        insns = [i for b in members for i in b.instructions]
        loops.append(Loop(f".L{name}", depth, innermost, labels, _trim_exit(insns, labels)))
    return loops


def _trim_exit(insns: list[Instruction], labels: tuple[str, ...]) -> tuple[Instruction, ...]:
    """Drop the exit branch that follows the latch's back-branch (``b.le .LBB0_7; b .LBB0_4``):
    it runs once per loop, not once per iteration."""
    last_back = max((n for n, i in enumerate(insns) if i.branch_target in labels), default=len(insns))
    if all(i.kind == "branch" for i in insns[last_back + 1 :]):
        insns = insns[: last_back + 1]
    return tuple(insns)


def _back_branch_loops(blocks: list[Block]) -> list[Loop]:
    position: dict[str, int] = {}
    flat: list[Instruction] = []
    label_at: list[tuple[int, str]] = []
    for block in blocks:
        if block.label:
            position[block.label] = len(flat)
            label_at.append((len(flat), block.label))
        flat.extend(block.instructions)
    ranges = sorted(
        {
            (position[t], end)
            for end, insn in enumerate(flat)
            if (t := insn.branch_target) in position and position[t] <= end
        }
    )
    loops: list[Loop] = []
    for lo, hi in ranges:
        nested = [o for o in ranges if o != (lo, hi) and lo <= o[0] and o[1] <= hi]
        own = [n for n in range(lo, hi + 1) if not any(a <= n <= b for a, b in nested)]
        header = next(lbl for pos, lbl in label_at if pos == lo)
        labels = tuple(lbl for pos, lbl in label_at if lo <= pos <= hi)
        loops.append(Loop(header, None, not nested, labels, tuple(flat[n] for n in own)))
    return loops


def find_loops(asm: str) -> list[Loop]:
    """Every loop with its own body, from LLVM's loop comments when present, else from
    back-branches."""
    blocks = parse_blocks(asm)
    return _annotated_loops(blocks) or _back_branch_loops(blocks)


def innermost_loops(asm: str) -> list[Loop]:
    return [lp for lp in find_loops(asm) if lp.innermost]


def hot_loop(asm: str) -> Loop | None:
    """The loop whose own body has the most FMA-class instructions; on a tie an innermost loop,
    then the first (compilers lay out the main path before tail copies). None when no loop
    holds any."""
    loops = [lp for lp in find_loops(asm) if lp.fmas]
    if not loops:
        return None
    return max(loops, key=lambda lp: (lp.fmas, lp.innermost, -lp.instructions[0].line))
