"""Decompose channels-last depthwise convs of any rank into 1-D ``nwc_wc`` row convs.

Upstream vectorizes only ``linalg.depthwise_conv_1d_nwc_wc`` and has no decomposition for
3-D convs. This rewrite turns ``depthwise_conv_{1,2,3}d_n(d)(h)wc_(d)(h)wc`` into loops over
the outer output positions (``od``, ``oh``) and outer filter taps (``kd``, ``kh``) around 1-D
convs on static row slices, which the schedule then tiles and vectorizes.

Zero padding (a ``tensor.pad`` feeding the input) is folded away instead of materialized: a
padded tap contributes nothing, so outer taps that fall into the padding are skipped through
loop bounds, and output columns whose taps reach into the padding get their own 1-D conv
over just their valid taps. The input buffer is never copied.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, linalg, scf, tensor

from ..errors import InternalError

ROW_ATTR = "dwmlir.row"
CHANNELS_LAST = {
    "linalg.depthwise_conv_1d_nwc_wc": 1,
    "linalg.depthwise_conv_2d_nhwc_hwc": 2,
    "linalg.depthwise_conv_3d_ndhwc_dhwc": 3,
}


@dataclass(frozen=True)
class Segment:
    """Consecutive outputs ``[start, start + count)`` that all use taps ``kmin..kmax``."""

    start: int
    count: int
    kmin: int
    kmax: int

    @property
    def taps(self) -> int:
        return self.kmax - self.kmin + 1


def segments(in_size: int, out_size: int, k: int, s: int, d: int, lo: int) -> list[Segment]:
    """Group outputs by their range of in-bounds taps (``0 <= o*s + t*d - lo < in_size``)."""
    out: list[Segment] = []
    for o in range(out_size):
        base = o * s - lo
        kmin = 0
        while kmin < k and base + kmin * d < 0:
            kmin += 1
        kmax = k - 1
        while kmax >= 0 and base + kmax * d >= in_size:
            kmax -= 1
        if kmin > kmax:
            continue  # every tap is padding: the output keeps its zero fill
        last = out[-1] if out else None
        if last and (last.kmin, last.kmax) == (kmin, kmax) and last.start + last.count == o:
            out[-1] = Segment(last.start, last.count + 1, kmin, kmax)
        else:
            out.append(Segment(o, 1, kmin, kmax))
    return out


@dataclass(frozen=True)
class RowConv:
    """One 1-D conv produced by the decomposition, as the schedule needs to see it."""

    tag: int
    batch: int
    out_width: int
    taps: int
    channels: int
    element_bits: int


_DYN = None


def _dyn() -> int:
    global _DYN
    if _DYN is None:
        _DYN = ir.ShapedType.get_dynamic_stride_or_offset()
    return _DYN


Index = int | ir.Value


def _index(v: Index) -> ir.Value:
    return v if isinstance(v, ir.Value) else arith.constant(ir.IndexType.get(), v)


def _affine(o: Index, s: int, k: Index, d: int, c: int) -> Index:
    """``o * s + k * d + c`` folded where operands are static."""
    if isinstance(o, int) and isinstance(k, int):
        return o * s + k * d + c
    idx = ir.IndexType.get()
    terms: list[ir.Value] = []
    const = c
    for v, m in ((o, s), (k, d)):
        if isinstance(v, int):
            const += v * m
        else:
            terms.append(v if m == 1 else arith.muli(v, arith.constant(idx, m)))
    acc = terms[0]
    for t in terms[1:]:
        acc = arith.addi(acc, t)
    return arith.addi(acc, arith.constant(idx, const)) if const else acc


def _slice(source: ir.Value, offsets: Sequence[Index], sizes: Sequence[int], keep: Sequence[int]) -> ir.Value:
    src_t = ir.RankedTensorType(source.type)
    result = ir.RankedTensorType.get([sizes[i] for i in keep], src_t.element_type)
    static = [o if isinstance(o, int) else _dyn() for o in offsets]
    dynamic = [o for o in offsets if not isinstance(o, int)]
    return tensor.extract_slice(result, source, dynamic, [], [], static, list(sizes), [1] * len(sizes))


def _insert(value: ir.Value, dest: ir.Value, offsets: Sequence[Index], sizes: Sequence[int]) -> ir.Value:
    static = [o if isinstance(o, int) else _dyn() for o in offsets]
    dynamic = [o for o in offsets if not isinstance(o, int)]
    return tensor.insert_slice(value, dest, dynamic, [], [], static, list(sizes), [1] * len(sizes))


def _ints(attr: ir.Attribute) -> list[int]:
    return [int(v) for v in ir.DenseIntElementsAttr(attr)]


def _defining_op(value: ir.Value) -> ir.Operation | None:
    owner = value.owner
    return owner.operation if isinstance(owner, ir.OpView | ir.Operation) else None


def _is_zero_constant(value: ir.Value) -> bool:
    op = _defining_op(value)
    if op is None or op.name != "arith.constant":
        return False
    attr = op.attributes["value"]
    if isinstance(attr, ir.IntegerAttr):
        return attr.value == 0
    return isinstance(attr, ir.FloatAttr) and attr.value == 0.0


def _zero_pad_source(value: ir.Value) -> tuple[ir.Value, list[int], ir.Operation | None]:
    """If ``value`` is a static ``tensor.pad`` with a constant zero, return its source and lows."""
    no_pad = (value, [0] * ir.RankedTensorType(value.type).rank, None)
    op = _defining_op(value)
    if op is None or op.name != "tensor.pad":
        return no_pad
    pad = op.opview
    block = pad.regions[0].blocks[0]
    terminator = block.operations[len(block.operations) - 1]
    lows = list(pad.static_low)
    if len(pad.low) or len(pad.high) or not _is_zero_constant(terminator.operands[0]):
        return no_pad
    return pad.source, lows, op


class _Decomposer:
    def __init__(self, op: ir.Operation, first_tag: int) -> None:
        self.op = op
        self.rank = CHANNELS_LAST[op.name]
        self.tag = first_tag
        self.rows: list[RowConv] = []
        padded_input, filt, init = op.operands[0], op.operands[1], op.operands[2]
        self.input, lows, self.pad_op = _zero_pad_source(padded_input)
        self.lo = lows[1 : 1 + self.rank]
        self.filter = filt
        self.init = init
        self.strides = _ints(op.attributes["strides"])
        self.dilations = _ints(op.attributes["dilations"])
        in_shape = list(ir.RankedTensorType(self.input.type).shape)
        self.in_sp = in_shape[1 : 1 + self.rank]
        self.n, self.c = in_shape[0], in_shape[-1]
        out_shape = list(ir.RankedTensorType(init.type).shape)
        self.out_sp = out_shape[1 : 1 + self.rank]
        self.k = list(ir.RankedTensorType(filt.type).shape)[: self.rank]
        self.bits = ir.RankedTensorType(init.type).element_type.width
        self.segs = [
            segments(self.in_sp[j], self.out_sp[j], self.k[j], self.strides[j], self.dilations[j], self.lo[j])
            for j in range(self.rank)
        ]

    def run(self) -> ir.Value:
        acc = self.init
        outer = self.rank - 1
        for combo in itertools.product(*self.segs[:outer]):
            acc = self._outputs(combo, 0, [], acc)
        return acc

    def _loop(self, lo: int, count: int, acc: ir.Value, body) -> ir.Value:
        """``body(index, acc) -> acc`` once (static index) or in an ``scf.for``."""
        if count == 1:
            return body(lo, acc)
        loop = scf.ForOp(_index(lo), _index(lo + count), _index(1), [acc])
        with ir.InsertionPoint(loop.body):
            scf.YieldOp([body(loop.induction_variable, loop.inner_iter_args[0])])
        return loop.results[0]

    def _outputs(self, combo, level: int, o_idx: list[Index], acc: ir.Value) -> ir.Value:
        if level == len(combo):
            return self._taps(combo, 0, o_idx, [], acc)
        seg = combo[level]
        return self._loop(
            seg.start, seg.count, acc, lambda o, a: self._outputs(combo, level + 1, [*o_idx, o], a)
        )

    def _taps(self, combo, level: int, o_idx: list[Index], k_idx: list[Index], acc: ir.Value) -> ir.Value:
        if level == len(combo):
            return self._row(o_idx, k_idx, acc)
        seg = combo[level]
        return self._loop(
            seg.kmin, seg.taps, acc, lambda k, a: self._taps(combo, level + 1, o_idx, [*k_idx, k], a)
        )

    def _row(self, o_idx: list[Index], k_idx: list[Index], acc: ir.Value) -> ir.Value:
        r, w = self.rank, self.rank - 1
        outer_in = [
            _affine(o, self.strides[j], k, self.dilations[j], -self.lo[j])
            for j, (o, k) in enumerate(zip(o_idx, k_idx, strict=True))
        ]
        sw, dw = self.strides[w], self.dilations[w]
        for seg in self.segs[w]:
            col0 = seg.start * sw + seg.kmin * dw - self.lo[w]
            cols = (seg.count - 1) * sw + (seg.taps - 1) * dw + 1
            unit = [1] * (r - 1)
            x = _slice(self.input, [0, *outer_in, col0, 0], [self.n, *unit, cols, self.c], [0, r, r + 1])
            f = _slice(self.filter, [*k_idx, seg.kmin, 0], [*unit, seg.taps, self.c], [r - 1, r])
            out_offsets = [0, *o_idx, seg.start, 0]
            out_sizes = [self.n, *unit, seg.count, self.c]
            y = _slice(acc, out_offsets, out_sizes, [0, r, r + 1])
            conv = linalg.depthwise_conv_1d_nwc_wc(x, f, outs=[y], strides=[sw], dilations=[dw])
            conv.owner.attributes[ROW_ATTR] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), self.tag)
            self.rows.append(RowConv(self.tag, self.n, seg.count, seg.taps, self.c, self.bits))
            self.tag += 1
            acc = _insert(conv, acc, out_offsets, out_sizes)
        return acc


def decompose_depthwise(module: ir.Module) -> list[RowConv]:
    """Rewrite every channels-last depthwise conv in ``module`` in place; return the row convs."""
    targets: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name in CHANNELS_LAST and ROW_ATTR not in op.attributes:
            targets.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    rows: list[RowConv] = []
    for op in targets:
        if any(not ir.RankedTensorType(v.type).has_static_shape for v in op.operands):
            raise InternalError(f"{op.name} needs static shapes for decomposition")
        dec = _Decomposer(op, len(rows))
        with ir.InsertionPoint(op), op.location:
            result = dec.run()
        op.results[0].replace_all_uses_with(result)
        op.erase()
        if dec.pad_op is not None and not list(dec.pad_op.results[0].uses):
            dec.pad_op.erase()
        rows.extend(dec.rows)
    return rows
