"""Finding ops in a module: one walk for every stage that looks for ops by a predicate."""

from __future__ import annotations

from collections.abc import Callable

from mlir import ir


def find_ops(module: ir.Module, pred: Callable[[ir.Operation], bool]) -> list[ir.Operation]:
    """Every op of ``module`` (nested ones included) for which ``pred`` holds, in walk order."""
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if pred(op):
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found
