"""Transform-dialect schedules: tile, then vectorize with a scalable channel dimension.

A schedule is a function returning a transform module whose entry point is
``@__transform_main``, so it can be printed, saved next to the payload, or run by
``mlir-opt -transform-interpreter`` as well as by ``apply_schedule`` below. It addresses the
1-D row convs that ``dwmlir.rewrite`` left for upstream's vectorizer (``--vectorizer
upstream``, or a dynamic channel dim) by their ``dwmlir.row`` tag, since each row has its
own static width and tap count; and the fills that are left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlir import ir
from mlir.dialects import transform
from mlir.dialects.transform import interpreter
from mlir.dialects.transform import structured as st

from ..errors import UserError
from ..rewrite import ROW_ATTR, RowConv
from ..target import Target

ENTRY_POINT = "__transform_main"
# Output columns computed per tile: each loaded filter tap feeds this many FMAs.
MAX_W_TILE = 8

Size = int | list[int]  # a one-element list is a scalable size, as in the Python bindings


@dataclass(frozen=True)
class Plan:
    """Tile and vector sizes of one op, one entry per loop (a list entry is scalable)."""

    tile: tuple[Size, ...]
    vector: tuple[Size, ...]

    def __str__(self) -> str:
        return f"tile {_sizes_str(self.tile)} vectorize {_sizes_str(self.vector)}"


def _largest_divisor_at_most(n: int, bound: int) -> int:
    return max(d for d in range(1, min(n, bound) + 1) if n % d == 0)


def _channel_size(target: Target, bits: int, extent: int) -> Size:
    """Scalable lanes; or fixed lanes, but never wider than a static dim (upstream cannot mask
    a static tile narrower than its fixed vector)."""
    lanes = target.lanes(bits)
    if target.scalable:
        return [lanes]
    return min(lanes, extent) if extent > 0 else lanes


def row_plan(row: RowConv, target: Target) -> Plan:
    """Channels in (scalable) vectors, a static block of output columns, all taps unrolled.

    The conv vectorizer needs static shapes outside the channel dim, so the W tile divides
    the row's output width exactly.
    """
    c = _channel_size(target, row.element_bits, row.channels)
    wt = _largest_divisor_at_most(row.out_width, MAX_W_TILE)
    return Plan(tile=(1, wt, c, 0), vector=(1, wt, c, row.taps))


def fill_plan(output_shape: Sequence[int], element_bits: int, target: Target) -> Plan:
    """Zero fill of a channels-last output: unit outer dims, a W block, scalable channels."""
    c = _channel_size(target, element_bits, output_shape[-1])
    wt = _largest_divisor_at_most(output_shape[-2], MAX_W_TILE) if len(output_shape) > 1 else 1
    sizes: tuple[Size, ...] = (*([1] * (len(output_shape) - 2)), wt, c)
    return Plan(tile=sizes, vector=sizes)


def _sizes_str(sizes: Sequence[Size]) -> str:
    return "[" + ", ".join(f"[{s[0]}]" if isinstance(s, list) else str(s) for s in sizes) + "]"


def build_schedule(
    rows: Sequence[RowConv],
    output_shape: Sequence[int] | None,
    element_bits: int,
    target: Target,
    extra: Sequence[tuple[str, int, Plan]] = (),
) -> ir.Module:
    """Return the transform module for the rewritten payload (call inside a Context).

    ``output_shape`` describes the kernel's zero fill; ``None`` when there is no fill.
    ``extra`` plans other ops, addressed by an integer attribute: (attribute, value, plan).
    """
    with ir.Location.name("dwmlir.schedule"):
        module = ir.Module.create()
        module.operation.attributes["transform.with_named_sequence"] = ir.UnitAttr.get()
        any_op = transform.AnyOpType.get()
        i64 = ir.IntegerType.get_signless(64)
        with ir.InsertionPoint(module.body):
            seq = transform.NamedSequenceOp(
                ENTRY_POINT, [any_op], [], arg_attrs=[{"transform.readonly": ir.UnitAttr.get()}]
            )
            with ir.InsertionPoint(seq.body):
                root = seq.bodyTarget
                for row in rows:
                    tag = ir.DictAttr.get({ROW_ATTR: ir.IntegerAttr.get(i64, row.tag)})
                    conv = st.MatchOp(
                        any_op, root, ops=["linalg.depthwise_conv_1d_nwc_wc"], op_attrs=tag
                    ).result
                    plan = row_plan(row, target)
                    tiled = st.TileUsingForOp(conv, sizes=list(plan.tile)).tiled_linalg_op
                    st.VectorizeOp(tiled, list(plan.vector))
                for attr, value, plan in extra:
                    tag = ir.DictAttr.get({attr: ir.IntegerAttr.get(i64, value)})
                    target_op = st.MatchOp(any_op, root, op_attrs=tag).result
                    tiled = st.TileUsingForOp(target_op, sizes=list(plan.tile)).tiled_linalg_op
                    st.VectorizeOp(tiled, list(plan.vector))
                if output_shape is not None:
                    fill = st.MatchOp.match_op_names(root, ["linalg.fill"]).result
                    plan = fill_plan(output_shape, element_bits, target)
                    tiled_fill = st.TileUsingForOp(fill, sizes=list(plan.tile)).tiled_linalg_op
                    st.VectorizeOp(tiled_fill, list(plan.vector))
                transform.YieldOp([])
    return module


def apply_schedule(payload: ir.Module, schedule: ir.Module) -> None:
    """Run ``@__transform_main`` of ``schedule`` on ``payload`` in place."""
    entry = None
    for op in schedule.body.operations:
        if isinstance(op.opview, transform.NamedSequenceOp) and op.opview.sym_name.value == ENTRY_POINT:
            entry = op
    if entry is None:
        raise UserError(f"schedule has no @{ENTRY_POINT} named sequence")
    interpreter.apply_named_sequence(payload, entry, schedule)
