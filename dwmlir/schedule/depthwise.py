"""Transform-dialect schedules: tile, then vectorize with a scalable channel dimension.

A schedule is a function ``spec, target -> transform module`` whose entry point is
``@__transform_main``, so it can be printed, saved next to the payload, or run by
``mlir-opt -transform-interpreter`` as well as by ``apply_schedule`` below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlir import ir
from mlir.dialects import transform
from mlir.dialects.transform import interpreter
from mlir.dialects.transform import structured as st

from ..errors import UserError
from ..spec import ConvSpec
from ..target import Target

ENTRY_POINT = "__transform_main"
# Output columns computed per tile: each loaded filter tap feeds this many FMAs.
MAX_W_TILE = 8

Size = int | list[int]  # a one-element list is a scalable size, as in the Python bindings


@dataclass(frozen=True)
class Plan:
    """Tile and vector sizes for the conv and its zero fill, one entry per loop of each op."""

    conv_tile: tuple[Size, ...]
    conv_vector: tuple[Size, ...]
    fill_tile: tuple[Size, ...]
    fill_vector: tuple[Size, ...]


def _largest_divisor_at_most(n: int, bound: int) -> int:
    return max(d for d in range(1, min(n, bound) + 1) if n % d == 0)


def plan_for(spec: ConvSpec, target: Target) -> Plan:
    """Choose sizes: channels in (scalable) vectors, a static block of output columns."""
    lanes = target.lanes(spec.bits)
    c: Size = [lanes] if target.scalable else lanes
    if spec.op == "depthwise_conv_1d_nwc_wc":
        (wo,) = spec.out_spatial
        (k,) = spec.kernel
        # The conv vectorizer needs static shapes outside the channel dim, so the W tile
        # divides the output width exactly.
        wt = _largest_divisor_at_most(wo, MAX_W_TILE)
        return Plan(
            conv_tile=(1, wt, c, 0),
            conv_vector=(1, wt, c, k),
            fill_tile=(1, wt, c),
            fill_vector=(1, wt, c),
        )
    raise UserError(f"no schedule for op '{spec.op}' yet")


def _sizes_str(sizes: Sequence[Size]) -> str:
    return "[" + ", ".join(f"[{s[0]}]" if isinstance(s, list) else str(s) for s in sizes) + "]"


def build_schedule(spec: ConvSpec, target: Target) -> ir.Module:
    """Return the transform module for ``spec`` (call inside a Context)."""
    plan = plan_for(spec, target)
    with ir.Location.name(f"dwmlir.schedule.{spec.name}"):
        module = ir.Module.create()
        module.operation.attributes["transform.with_named_sequence"] = ir.UnitAttr.get()
        any_op = transform.AnyOpType.get()
        with ir.InsertionPoint(module.body):
            seq = transform.NamedSequenceOp(
                ENTRY_POINT, [any_op], [], arg_attrs=[{"transform.readonly": ir.UnitAttr.get()}]
            )
            with ir.InsertionPoint(seq.body):
                root = seq.bodyTarget
                conv = st.MatchOp.match_op_names(root, [spec.info.mlir_name]).result
                fill = st.MatchOp.match_op_names(root, ["linalg.fill"]).result
                tiled_conv = st.TileUsingForOp(conv, sizes=list(plan.conv_tile)).tiled_linalg_op
                st.VectorizeOp(tiled_conv, list(plan.conv_vector))
                tiled_fill = st.TileUsingForOp(fill, sizes=list(plan.fill_tile)).tiled_linalg_op
                st.VectorizeOp(tiled_fill, list(plan.fill_vector))
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


def describe_plan(spec: ConvSpec, target: Target) -> str:
    p = plan_for(spec, target)
    return f"tile {_sizes_str(p.conv_tile)} vectorize {_sizes_str(p.conv_vector)}"
