"""Rewrite every depthwise conv into vector code, or into code the schedule can vectorize.

* By default every depthwise conv goes to our own vectorizer (``vector_rows``), which
  emits scalable vector IR directly: register-blocked rows (``blocked``) for the plain
  channels-last ops (``nwc_wc``, ``nhwc_hwc``, ``ndhwc_dhwc``), rows in the shared nest for
  channels-first, channel multiplier and quantized ones.
* With ``vectorizer="upstream"`` the plain channels-last convs of any rank instead become
  loops over outer outputs and in-bounds outer taps (``nest.outer_nest``) around 1-D
  ``depthwise_conv_1d_nwc_wc`` row convs on static slices, which the schedule tiles and
  vectorizes with upstream's conv vectorizer (it handles no other depthwise op, and
  upstream has no decomposition for 3-D at all). It is kept as the comparison point.
* A 1-D ``nwc_wc`` whose channel dim is dynamic always goes to upstream's vectorizer.

Zero padding (a ``tensor.pad`` feeding the input whose value contributes nothing: zero, or
the input zero point of a quantized op) is folded away instead of materialized, so the
input buffer is never copied.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import linalg

from ..errors import InternalError
from ..ir.walk import find_ops
from ..spec import OPS
from .nest import (
    ConvGeometry,
    Index,
    defining_op,
    extract_slice,
    insert_slice,
    int_list,
    is_zero_constant,
    outer_nest,
)
from .vector_rows import VectorShape, all_depthwise_ops, erase_dead, own_vectorizer_ops, vectorize_rows

ROW_ATTR = "dwmlir.row"
# Who vectorizes the plain channels-last convs: our blocked rows, or upstream's conv vectorizer.
VECTORIZERS = ("dwmlir", "upstream")
DEFAULT_VECTORIZER = "dwmlir"
# Plain channels-last ops (nwc_wc, nhwc_hwc, ndhwc_dhwc) by MLIR name, with their rank.
CHANNELS_LAST = {info.mlir_name: info.rank for info in OPS.values() if info.plain_channels_last}


@dataclass(frozen=True)
class RowConv:
    """One 1-D conv produced by the decomposition, as the schedule needs to see it."""

    tag: int
    batch: int
    out_width: int
    taps: int
    channels: int
    element_bits: int


def _is_neutral_pad_value(value: ir.Value, conv: ir.Operation) -> bool:
    """Zero for plain convs; ``trunci(input_zp)`` for quantized ones (so (x - zx) is zero)."""
    if not conv.name.endswith("_q"):
        return is_zero_constant(value)
    op = defining_op(value)
    return op is not None and op.name == "arith.trunci" and op.operands[0] == conv.operands[2]


def strip_neutral_pad(conv: ir.Operation) -> tuple[ir.Value, list[int], ir.Operation | None]:
    """Return the conv input without a foldable ``tensor.pad``, the low pads, and the pad op."""
    value = conv.operands[0]
    no_pad = (value, [0] * ir.RankedTensorType(value.type).rank, None)
    op = defining_op(value)
    if op is None or op.name != "tensor.pad":
        return no_pad
    pad = op.opview
    block = pad.regions[0].blocks[0]
    terminator = block.operations[len(block.operations) - 1]
    if len(pad.low) or len(pad.high) or not _is_neutral_pad_value(terminator.operands[0], conv):
        return no_pad
    return pad.source, list(pad.static_low), op


class _RowDecomposer:
    """Channels-last conv -> ``outer_nest`` of tagged 1-D ``nwc_wc`` row convs."""

    def __init__(self, op: ir.Operation, source: ir.Value, lows: list[int], first_tag: int) -> None:
        self.rank = CHANNELS_LAST[op.name]
        self.input, self.filter, self.init = source, op.operands[1], op.operands[2]
        in_shape = list(ir.RankedTensorType(source.type).shape)
        out_shape = list(ir.RankedTensorType(self.init.type).shape)
        r = self.rank
        self.n, self.c = in_shape[0], in_shape[-1]
        self.geo = ConvGeometry(
            in_spatial=tuple(in_shape[1 : 1 + r]),
            out_spatial=tuple(out_shape[1 : 1 + r]),
            kernel=tuple(ir.RankedTensorType(self.filter.type).shape[:r]),
            strides=tuple(int_list(op.attributes["strides"])),
            dilations=tuple(int_list(op.attributes["dilations"])),
            pad_lo=tuple(lows[1 : 1 + r]),
        )
        self.bits = ir.RankedTensorType(self.init.type).element_type.width
        self.tag = first_tag
        self.rows: list[RowConv] = []

    def run(self) -> ir.Value:
        return outer_nest(self.geo, self.init, self._row)

    def _row(self, o_idx: list[Index], k_idx: list[Index], acc: ir.Value) -> ir.Value:
        geo, r = self.geo, self.rank
        w = r - 1
        outer_in = geo.outer_inputs(o_idx, k_idx)
        sw, dw = geo.strides[w], geo.dilations[w]
        unit = [1] * (r - 1)
        for seg in geo.segments(w):
            col0 = seg.start * sw + seg.kmin * dw - geo.pad_lo[w]
            cols = (seg.count - 1) * sw + (seg.taps - 1) * dw + 1
            x = extract_slice(
                self.input, [0, *outer_in, col0, 0], [self.n, *unit, cols, self.c], [0, r, r + 1]
            )
            f = extract_slice(self.filter, [*k_idx, seg.kmin, 0], [*unit, seg.taps, self.c], [r - 1, r])
            out_offsets = [0, *o_idx, seg.start, 0]
            out_sizes = [self.n, *unit, seg.count, self.c]
            y = extract_slice(acc, out_offsets, out_sizes, [0, r, r + 1])
            conv = linalg.depthwise_conv_1d_nwc_wc(x, f, outs=[y], strides=[sw], dilations=[dw])
            conv.owner.attributes[ROW_ATTR] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), self.tag)
            self.rows.append(RowConv(self.tag, self.n, seg.count, seg.taps, self.c, self.bits))
            self.tag += 1
            acc = insert_slice(conv, acc, out_offsets, out_sizes)
        return acc


def has_runtime_sizes(op: ir.Operation) -> bool:
    """Whether any shaped operand of ``op`` has a size known only at run time."""
    return any(
        isinstance(v.type, ir.ShapedType) and not ir.ShapedType(v.type).has_static_shape for v in op.operands
    )


def _dynamic_channels_only_1d(op: ir.Operation) -> bool:
    """A 1-D ``nwc_wc`` whose only dynamic sizes are channel dims (and no padding to fold)."""
    if op.name != "linalg.depthwise_conv_1d_nwc_wc":
        return False
    types = [ir.RankedTensorType(v.type) for v in op.operands[:3] if isinstance(v.type, ir.RankedTensorType)]
    if len(types) != 3 or all(t.has_static_shape for t in types):
        return False
    return all(not t.is_dynamic_dim(i) for t in types for i in range(t.rank - 1))


def _tag_whole_op(op: ir.Operation, tag: int, rows: list[RowConv]) -> None:
    in_t, flt_t, out_t = (ir.RankedTensorType(op.operands[i].type) for i in range(3))
    op.attributes[ROW_ATTR] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), tag)
    rows.append(RowConv(tag, in_t.shape[0], out_t.shape[1], flt_t.shape[0], -1, out_t.element_type.width))


def rewrite_depthwise(
    module: ir.Module, shape: VectorShape, vectorizer: str = DEFAULT_VECTORIZER
) -> list[RowConv]:
    """Rewrite every depthwise conv in ``module`` in place; return the row convs to schedule.

    ``vectorizer="upstream"`` leaves the plain channels-last convs to upstream's conv
    vectorizer (row decomposition + schedule) instead of our register-blocked rows.
    """
    if vectorizer not in VECTORIZERS:
        raise InternalError(f"unknown vectorizer {vectorizer!r}")
    own = own_vectorizer_ops() if vectorizer == "upstream" else all_depthwise_ops()
    targets = find_ops(
        module, lambda op: (op.name in CHANNELS_LAST or op.name in own) and ROW_ATTR not in op.attributes
    )
    rows: list[RowConv] = []
    for op in targets:
        if _dynamic_channels_only_1d(op):
            # Upstream's vectorizer handles a dynamic (scalable) channel dim on this op itself.
            _tag_whole_op(op, len(rows), rows)
            continue
        if op.name not in own and has_runtime_sizes(op):
            raise InternalError(
                f"{op.name} at {op.location} has dynamic sizes outside the channel dim; dwmlir needs "
                "static spatial sizes"
            )
        source, lows, pad = strip_neutral_pad(op)
        if op.name in own:
            result = vectorize_rows(op, source, lows, shape)
        else:
            dec = _RowDecomposer(op, source, lows, len(rows))
            with ir.InsertionPoint(op), op.location:
                result = dec.run()
            rows.extend(dec.rows)
        if result is not None:
            op.results[0].replace_all_uses_with(result)
        init = defining_op(op.operands[len(op.operands) - 1])
        op.erase()
        erase_dead(init)  # a zero fill our vectorizer replaced
        if pad is not None and not list(pad.results[0].uses):
            pad.erase()
        erase_unused(source)  # a fused block's expand chain, now computed inside the conv's code
    return rows


_PURE = frozenset(
    {
        "tensor.expand_shape",
        "tensor.collapse_shape",
        "tensor.empty",
        "linalg.generic",
        "linalg.matmul",
        "linalg.fill",
        "arith.constant",
        "bufferization.to_tensor",
    }
)


def erase_unused(value: ir.Value) -> None:
    """Erase the tensor op producing ``value`` if nothing uses it, and so on up its operands."""
    op = defining_op(value)
    if op is None or op.name not in _PURE or any(len(list(r.uses)) for r in op.results):
        return
    operands = list(op.operands)
    op.erase()
    for v in operands:
        erase_unused(v)


def has_fill(module: ir.Module) -> bool:
    """Whether a ``linalg.fill`` is left for the schedule to vectorize."""
    return bool(find_ops(module, lambda op: op.name == "linalg.fill"))
