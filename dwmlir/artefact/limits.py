"""The code-size limit: a kernel whose vector IR is too big is refused before the long part of
its compile (the MLIR pass bundles, opt and llc), with a one-line UserError.

dwmlir's rewrites bound the code of every row (W borders are loops, at most 64 W taps and 9
outer taps are unrolled), but those bounds multiply: a 2-D 9x63 SAME filter still makes 69,000
ops, a 350 KB object and a 96 s compile. The count is taken right after the rewrites and the
schedule (under 4 s for that spec), so nothing long runs before the refusal.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from mlir import ir

from ..errors import UserError
from ..ir.epilogue import EXPAND_ATTR
from ..ir.walk import find_ops
from ..rewrite import RowConv, VectorShape, compact_rows, rewrite_depthwise
from ..rewrite.expand import compact_expand
from ..rewrite.outline import OUTLINED_ATTR

COMPACT_EXPAND_ATTR = "dwmlir.compact_expand"  # on the functions of a block rebuilt with it

# Ops in a kernel's module after dwmlir's rewrites and schedule. The largest spec in the test
# suite and examples makes about 12,000 (a 2-D 31x31 SAME filter, a 46 KB object); aarch64
# code runs at about 4 to 5 bytes per op.
DEFAULT_MAX_KERNEL_OPS = 50_000
LIMIT_ENV = "DWMLIR_MAX_KERNEL_OPS"


def max_kernel_ops() -> int | None:
    """The limit: ``$DWMLIR_MAX_KERNEL_OPS`` (0: none), else DEFAULT_MAX_KERNEL_OPS."""
    text = os.environ.get(LIMIT_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_KERNEL_OPS
    if not (text.isascii() and text.isdigit()):
        raise UserError(
            f"{LIMIT_ENV}={text!r} is not a number: give the most ops a kernel may have "
            f"(default {DEFAULT_MAX_KERNEL_OPS}; 0 for no limit)"
        )
    return int(text) or None


def count_ops(module: ir.Module) -> int:
    """The ops of ``module``'s largest function with the functions outlined from it
    (``rewrite.outline``), nested ones included (a kernel's ``NAME_part`` is a second copy of
    its code, which the limit does not count twice)."""
    return census(module)[0]


def census(module: ir.Module, prefix: str | None = None) -> tuple[int, list[str]]:
    """``count_ops`` and the names of the ops starting with ``prefix``, in one walk (a walk
    calls back into Python for each of 10,000s of ops)."""
    counts: dict[str, int] = {}
    found: list[str] = []
    for i, op in enumerate(module.body.operations):
        key = _owner(op.operation) or f"#{i}"
        count = 0

        def visit(_op: ir.Operation) -> ir.WalkResult:
            nonlocal count
            count += 1
            if prefix is not None and _op.name.startswith(prefix):
                found.append(_op.name)
            return ir.WalkResult.ADVANCE

        op.operation.walk(visit)
        counts[key] = counts.get(key, 0) + count
    return max(counts.values(), default=0), found


def _owner(op: ir.Operation) -> str | None:
    """The kernel function ``op`` is, or was outlined from; None for an op without a name."""
    for name in (OUTLINED_ATTR, "sym_name"):
        if name in op.attributes:
            return ir.StringAttr(op.attributes[name]).value
    return None


def over_code_size(module: ir.Module) -> bool:
    """Whether ``module``'s largest function has more ops than the limit."""
    limit = max_kernel_ops()
    return limit is not None and count_ops(module) > limit


def rewrite_within_limit(
    module: ir.Module,
    rebuild: Callable[[], ir.Module],
    shape: VectorShape,
    vectorizer: str,
    runtime_sizes: bool,
) -> tuple[ir.Module, list[RowConv]]:
    """``module`` through dwmlir's rewrites. With run-time sizes whose segments multiply past
    the limit, a fresh copy (``rebuild()``) is rewritten again with compact rows, and its
    functions are marked ``dwmlir.compact_rows``; a block with an expand stage past it, with
    compact expand blocks, its functions marked ``COMPACT_EXPAND_ATTR``. The caller still
    checks the limit."""
    expands = bool(find_ops(module, lambda op: EXPAND_ATTR in op.attributes))
    rows = rewrite_depthwise(module, shape, vectorizer)
    if expands and over_code_size(module):
        module = rebuild()
        with compact_expand():
            rows = rewrite_depthwise(module, shape, vectorizer)
        for func in find_ops(module, lambda op: op.name == "func.func"):
            func.attributes[COMPACT_EXPAND_ATTR] = ir.UnitAttr.get()
        return module, rows
    if not (runtime_sizes and over_code_size(module)):
        return module, rows
    module = rebuild()
    with compact_rows():
        rows = rewrite_depthwise(module, shape, vectorizer)
    for func in find_ops(module, lambda op: op.name == "func.func"):
        func.attributes["dwmlir.compact_rows"] = ir.UnitAttr.get()
    return module, rows


def check_code_size(module: ir.Module, what: str, ops: int | None = None) -> None:
    """Refuse ``module`` (``what`` names it) if it has more ops than the limit; ``ops``: its
    ``count_ops``, if already taken."""
    limit = max_kernel_ops()
    if limit is None:
        return
    ops = count_ops(module) if ops is None else ops
    if ops > limit:
        raise UserError(
            f"{what} is too big: {ops} ops after dwmlir's rewrites, over the limit of {limit} "
            f"(about {ops * 5 // 1000} KB of code): use a smaller filter or split the conv, or raise "
            f"the limit with {LIMIT_ENV}={ops} (0: no limit)"
        )
