"""opt and llc for a kernel and its ``NAME_part`` side by side, one process each.

A kernel's LLVM-dialect module holds two large functions that share nothing: ``NAME`` and
``NAME_part``, each a full copy of the kernel's code. opt and llc run one module per process,
so the module is split into one module per function (``split_functions``), the parts go
through opt and then llc on their own cores, and the results are joined:

- the LLVM IR by ``llvm-link`` (``linked_ir``), which keeps each function as opt left it;
- the assembly by concatenation (``merge_assembly``), renumbering llc's per-function labels
  (``.LBB0_3`` of the second part becomes ``.LBB1_3``): byte for byte what llc prints for
  the joined IR, so NAME.s is still ``llc NAME.ll`` (``test/python/codegen.py`` checks it).

On two cores this halves the time of opt and llc (mnv2_112x112x32_s1: 0.60 s to 0.32 s).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mlir import ir

from ..errors import InternalError
from ..ir.walk import find_ops
from ..toolchain import Chains, Step, llvm_tool, run

# llc's output for an ELF target ends with this line, and starts with the .file and .text
# lines, the same for every part.
_TRAILER = '\t.section\t".note.GNU-stack","",@progbits\n'
_HEADER_LINES = 2
# Local labels that carry llc's function number (the part's index once joined), and
# every local label a kernel's assembly is known to have. Anything else (e.g. .Ltmp, numbered
# across the module) makes merge_assembly decline.
_NUMBERED = re.compile(r"(?<![\w.$])(\.L)?(BB|CPI|JTI)0_")
_FUNC_END = re.compile(r"\.Lfunc_end0\b")
_LOCAL = re.compile(r"\.L[A-Za-z_.$]+")  # .LBB, .Lfunc_end, but also .L.str (a private global)
_KNOWN_LOCAL = frozenset({".LBB", ".LCPI", ".LJTI", ".Lfunc_end"})
# A line that switches sections.
_SECTION = re.compile(r"^\t\.(?:text|data|bss|section\t.*)\n", re.M)


def split_functions(module: ir.Module) -> list[ir.Operation]:
    """One copy of ``module`` per function it defines, holding only that definition (and
    every declaration), in module order; ``[]`` when a split would not be exact: fewer than
    two definitions, a global, a function that is not public (another may call it), or a
    call of a function defined here (NAME that calls NAME_part)."""
    ops = list(module.body.operations)
    defined = []
    for i, op in enumerate(ops):
        if op.operation.name != "llvm.func":
            return []
        if len(op.regions[0].blocks) == 0:
            continue
        linkage = op.attributes["linkage"] if "linkage" in op.attributes else None
        if linkage is not None and str(linkage) != "#llvm.linkage<external>":
            return []
        defined.append(i)
    if len(defined) < 2:
        return []
    names = {ops[i].attributes["sym_name"].value for i in defined}

    def calls_defined(op: ir.Operation) -> bool:
        return op.name == "llvm.call" and "callee" in op.attributes and op.attributes["callee"].value in names

    if find_ops(module, calls_defined):
        return []
    parts = []
    for keep in defined:
        copy = module.operation.clone()
        copied = list(copy.regions[0].blocks[0].operations)
        for i in defined:
            if i != keep:
                copied[i].operation.erase()
        parts.append(copy)
    return parts


def merge_assembly(parts: Sequence[str]) -> str | None:
    """llc's assembly of one-function modules, joined as llc prints the module of all of
    them; None if a part does not look as expected (then llc runs on the joined IR)."""
    out = []
    head = None
    for index, text in enumerate(parts):
        if not text.endswith(_TRAILER) or set(_LOCAL.findall(text)) - _KNOWN_LOCAL:
            return None
        lines = text.splitlines(keepends=True)
        if head is None:
            head = lines[:_HEADER_LINES]
            out.append(text[: -len(_TRAILER)])
            continue
        if lines[:_HEADER_LINES] != head:
            return None
        body = "".join(lines[_HEADER_LINES:])[: -len(_TRAILER)]
        body = _NUMBERED.sub(lambda m, i=index: f"{m[1] or ''}{m[2]}{i}_", body)
        # Each part was printed from the header's section (.text). If the part before left
        # another one (x86 puts a jump table in .rodata after its function), llc switches back
        # before the next function unless that starts with a switch of its own (a constant
        # pool); so must the join, or the function would land in .rodata.
        switches = _SECTION.findall("".join(out))
        if switches and switches[-1] != head[1] and not _SECTION.match(body):
            out.append(head[1])
        out.append(_FUNC_END.sub(f".Lfunc_end{index}", body))
    return "".join(out) + _TRAILER


def linked_ir(linked: bytes, first: bytes) -> bytes:
    """llvm-link's output ``linked``, named like ``first`` (the text of the first module it
    linked), not after llvm-link, so that llc prints the same ``.file`` line as for one
    module."""
    want = first.split(b"\n", 2)[:2]
    got = linked.split(b"\n", 2)
    if len(got) < 3 or not (got[0].startswith(b"; ModuleID = ") and got[1].startswith(b"source_filename")):
        raise InternalError("llvm-link printed an unexpected module header")
    return b"\n".join([*want, got[2]])


class Backend:
    """opt and llc of a kernel's LLVM IR modules (``split_functions``, translated), started
    at once and run in the background while the caller prints its IR; ``finish`` gives the
    ``.ll`` after opt and the ``.s`` from llc. ``opt`` and ``llc`` are the commands without
    input and output (they read stdin). With two or more modules, llvm-link joins their IR
    while llc runs."""

    def __init__(self, parts: Sequence[bytes], opt: Sequence, llc: Sequence) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="dwmlir-codegen-")
        work = self._work = Path(self._tmp.name)
        self._llc = llc
        self._n = len(parts)
        chains = []
        for i, part in enumerate(parts):
            (work / f"{i}.in.ll").write_bytes(part)
            chains.append(
                [
                    Step([*opt, "-S", "-", "-o", work / f"{i}.ll"], "opt", work / f"{i}.in.ll"),
                    Step([*llc, "-filetype=asm", "-", "-o", work / f"{i}.s"], "llc", work / f"{i}.ll"),
                ]
            )
        if self._n > 1:
            link = [llvm_tool("llvm-link"), "-S", *(work / f"{i}.ll" for i in range(self._n))]
            opts = tuple((i, 0) for i in range(self._n))
            chains.append([Step([*link, "-o", work / "linked.ll"], "llvm-link", after=opts)])
        try:
            self._chains = Chains(chains)
        except BaseException:
            self._tmp.cleanup()
            raise

    def finish(self) -> tuple[bytes, bytes]:
        try:
            self._chains.wait()
            work = self._work
            if self._n == 1:
                return (work / "0.ll").read_bytes(), (work / "0.s").read_bytes()
            ll = linked_ir((work / "linked.ll").read_bytes(), (work / "0.ll").read_bytes())
            asm = merge_assembly([(work / f"{i}.s").read_text() for i in range(self._n)])
        finally:
            self.close()
        if asm is None:
            return ll, run([*self._llc, "-filetype=asm", "-", "-o", "-"], input=ll, what="llc").stdout
        return ll, asm.encode()

    def close(self) -> None:
        """Stop the tools still running and remove their files."""
        self._chains.kill()
        self._tmp.cleanup()
