"""``dwmlir gen``: the linalg input of a spec, or the rewritten payload plus its schedule."""

from __future__ import annotations

from mlir import ir

from ..ir import build_kernel_module
from ..rewrite import DEFAULT_VECTORIZER, VectorShape, has_fill, rewrite_depthwise
from ..schedule import build_schedule
from ..spec import BlockSpec, ConvSpec, as_block
from ..target import Target
from .header import check_expand_chunks


def generate(
    spec: ConvSpec | BlockSpec, target: Target, with_schedule: bool, vectorizer: str = DEFAULT_VECTORIZER
) -> str:
    """Linalg MLIR text; with the schedule, one module that ``mlir-opt -transform-interpreter``
    can vectorize (the payload is taken after dwmlir's own rewrites, which mlir-opt lacks)."""
    with ir.Context(), ir.Location.unknown():
        module = build_kernel_module(spec, part=False)
        if not with_schedule:
            return str(module)
        check_expand_chunks(as_block(spec), target)
        conv = as_block(spec).conv
        rows = rewrite_depthwise(module, VectorShape(target.vector_bits, target.scalable), vectorizer)
        schedule = build_schedule(
            rows, conv.output_shape if has_fill(module) else None, conv.acc_bits, target
        )
        module.operation.attributes["transform.with_named_sequence"] = ir.UnitAttr.get()
        for op in list(schedule.body.operations):
            module.body.append(op.detach_from_parent())
        return str(module)
