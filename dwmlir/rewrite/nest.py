"""The loop nest shared by every row rewrite: outer outputs, in-bounds outer taps, W segments.

A depthwise conv of rank r is a sum over filter taps. We loop over the output positions and
filter taps of the outer spatial dims (d, h) and leave one row along W per (outputs, taps)
to a row emitter. Padding is never materialized: a padded tap contributes nothing, so outer
taps that land in the padding are skipped by loop bounds, and along W the outputs are split
into segments that share the same range of in-bounds taps (``segments``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mlir import ir
from mlir.dialects import arith, llvm, memref, scf, tensor

# Most 128-bit granules in an SVE vector: 2048 bits.
MAX_VSCALE = 16


@dataclass(frozen=True)
class Segment:
    """Consecutive outputs ``[start, start + count)`` that all use taps ``kmin..kmax``.

    ``start`` and ``count`` are index values along a dim whose size is known only at run time
    (``dynamic_segments``)."""

    start: int | ir.Value
    count: int | ir.Value
    kmin: int
    kmax: int
    # A run-time ``count`` that is known to be a multiple of this (0: nothing known).
    multiple_of: int = field(default=0, repr=False)

    @property
    def taps(self) -> int:
        return self.kmax - self.kmin + 1


def segments(in_size: int, out_size: int, k: int, s: int, d: int, lo: int) -> list[Segment]:
    """Group outputs by their range of in-bounds taps (``0 <= o*s + t*d - lo < in_size``).

    In closed form, O(segments) rather than O(out_size * k): both ends of the tap range only
    decrease as ``o`` grows, so each run of equal ranges ends where either end would change.
    Outputs whose every tap is padding keep the zero fill and belong to no segment.
    """
    out: list[Segment] = []
    o = 0
    while o < out_size:
        kmin = max(0, -((o * s - lo) // d))  # ceil((lo - o*s) / d), at least 0
        kmax = min(k - 1, (in_size - 1 + lo - o * s) // d)
        last = out_size - 1
        if kmin > 0:  # kmin stays while o*s < lo - (kmin - 1)*d
            last = min(last, (lo - (kmin - 1) * d - 1) // s)
        last = min(last, (in_size - 1 + lo - kmax * d) // s)  # kmax stays while o*s <= that
        if kmin <= kmax:
            out.append(Segment(o, last - o + 1, kmin, kmax))
        o = last + 1
    return out


Index = int | ir.Value


def add(a: Index, b: Index) -> Index:
    """``a + b``, folded when both are static (index values otherwise)."""
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if isinstance(b, int) and b == 0:
        return a
    if isinstance(a, int) and a == 0:
        return b
    return arith.addi(index(a), index(b))


def sub(a: Index, b: Index) -> Index:
    if isinstance(a, int) and isinstance(b, int):
        return a - b
    if isinstance(b, int) and b == 0:
        return a
    return arith.subi(index(a), index(b))


def mul(a: Index, b: Index) -> Index:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if isinstance(b, int) and b == 1:
        return a
    if isinstance(a, int) and a == 1:
        return b
    return arith.muli(index(a), index(b))


def min_index(a: Index, b: Index) -> Index:
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    return arith.minsi(index(a), index(b))


def max_index(a: Index, b: Index) -> Index:
    if isinstance(a, int) and isinstance(b, int):
        return max(a, b)
    return arith.maxsi(index(a), index(b))


def dynamic_segments(
    in_size: Index, out_size: Index, k: int, s: int, d: int, lo: int, hi: int
) -> list[Segment]:
    """The segments of a dim whose size is known only at run time: a left border, the
    interior (every tap in bounds) and a right border, with run-time bounds.

    The borders are merged segments (``kmin > kmax``): their tap ranges are computed per
    output at run time, so every size is right, including outputs that read only padding
    and rows with no interior. Without padding on a side its border is empty and omitted.
    Output ``o`` has every tap in bounds when ``o*s >= lo`` (``o >= ceil(lo / s)``) and
    ``o*s - lo + (k-1)*d <= in - 1`` (``o < (in + lo - span) // s + 1``).
    """
    span = d * (k - 1) + 1
    left = min_index(-(-lo // s), out_size) if lo else 0
    if hi:
        room = add(in_size, lo - span)
        last = arith.floordivsi(index(room), index(s)) if s > 1 else room
        right = max_index(left, add(last, 1))
    else:
        right = out_size
    segs = []
    if lo:
        segs.append(Segment(0, left, 1, 0))
    segs.append(Segment(left, sub(right, left), 0, k - 1))
    if hi:
        segs.append(Segment(right, sub(out_size, right), 1, 0))
    return segs


def if_within(value: Index, bounds: tuple[ir.Value, ir.Value], body: Callable[[], None]) -> None:
    """``body()`` under an ``scf.if`` that holds when ``lo <= value < hi`` (unsigned), for
    ``bounds = (lo, hi)``: a NAME_part's share of some numbered work."""
    value = index(value)
    lo, hi = bounds
    inside = arith.andi(
        arith.cmpi(arith.CmpIPredicate.uge, value, lo), arith.cmpi(arith.CmpIPredicate.ult, value, hi)
    )
    branch = scf.IfOp(inside)
    with ir.InsertionPoint(branch.then_block):
        body()
        scf.YieldOp([])


def enclosing_func(op: ir.Operation) -> ir.Operation | None:
    """The ``func.func`` holding ``op``, if any."""
    parent = op.operation.parent
    while parent is not None and parent.name != "func.func":
        parent = parent.parent
    return parent


# Ops that make a view of their first operand, the same elements under another shape.
VIEW_OPS = ("memref.subview", "memref.expand_shape", "memref.collapse_shape", "memref.cast")


def defining_op(value: ir.Value) -> ir.Operation | None:
    """The op that produced ``value``; None for a block argument."""
    owner = value.owner
    return owner.operation if isinstance(owner, ir.OpView | ir.Operation) else None


def is_zero_constant(value: ir.Value) -> bool:
    """Whether ``value`` is an ``arith.constant`` integer or float zero."""
    op = defining_op(value)
    if op is None or op.name != "arith.constant":
        return False
    attr = op.attributes["value"]
    if isinstance(attr, ir.IntegerAttr):
        return attr.value == 0
    return isinstance(attr, ir.FloatAttr) and attr.value == 0.0


def int_list(attr: ir.Attribute) -> list[int]:
    """A conv op's ``strides``/``dilations`` attribute as ints."""
    return [int(v) for v in ir.DenseIntElementsAttr(attr)]


def dynamic() -> int:
    return ir.ShapedType.get_dynamic_stride_or_offset()


def index(v: Index) -> ir.Value:
    return v if isinstance(v, ir.Value) else arith.constant(ir.IndexType.get(), v)


def affine(o: Index, s: int, k: Index, d: int, c: int) -> Index:
    """``o * s + k * d + c``, folded where operands are static."""
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


def extract_slice(
    source: ir.Value, offsets: Sequence[Index], sizes: Sequence[int], keep: Sequence[int]
) -> ir.Value:
    """Unit-stride slice of ``source``, rank-reduced to the dims listed in ``keep``."""
    src_t = ir.RankedTensorType(source.type)
    result = ir.RankedTensorType.get([sizes[i] for i in keep], src_t.element_type)
    static = [o if isinstance(o, int) else dynamic() for o in offsets]
    dyn = [o for o in offsets if not isinstance(o, int)]
    return tensor.extract_slice(result, source, dyn, [], [], static, list(sizes), [1] * len(sizes))


def insert_slice(value: ir.Value, dest: ir.Value, offsets: Sequence[Index], sizes: Sequence[int]) -> ir.Value:
    static = [o if isinstance(o, int) else dynamic() for o in offsets]
    dyn = [o for o in offsets if not isinstance(o, int)]
    return tensor.insert_slice(value, dest, dyn, [], [], static, list(sizes), [1] * len(sizes))


def dense_layout(t: ir.MemRefType) -> bool:
    """Whether ``t`` is a dense row-major buffer (identity layout), not a strided view."""
    return isinstance(t.layout, ir.AffineMapAttr) and t.layout.value == ir.AffineMap.get_identity(t.rank)


def contiguous_layout(t: ir.MemRefType) -> bool:
    """Whether ``t`` is dense, or a view whose elements are one contiguous run in row-major
    order (a fused block's scratch tile, whose offset may be known only at run time)."""
    if dense_layout(t):
        return True
    if any(ir.ShapedType.is_dynamic_size(v) for v in t.shape):
        return False
    strides, _ = t.get_strides_and_offset()
    expect = 1
    for size, stride in reversed(list(zip(t.shape, strides, strict=True))):
        if size != 1 and stride != expect:
            return False
        expect *= size
    return True


def collapse(buf: ir.Value, groups: list[int]) -> ir.Value:
    """``buf`` with consecutive dims collapsed (``groups[i]`` dims each), each group contiguous:
    a group with a dim of run-time size has a run-time size; a strided view (a window of a
    fused block's scratch) keeps its strides and offset."""
    t = ir.MemRefType(buf.type)
    strides, offset = t.get_strides_and_offset()
    reassoc, shape, out_strides, d = [], [], [], 0
    for g in groups:
        reassoc.append(list(range(d, d + g)))
        part = t.shape[d : d + g]
        dyn = any(ir.ShapedType.is_dynamic_size(v) for v in part)
        shape.append(ir.ShapedType.get_dynamic_size() if dyn else math.prod(part))
        out_strides.append(strides[d + g - 1])
        d += g
    layout = None if dense_layout(t) else ir.StridedLayoutAttr.get(offset, out_strides)
    return memref.collapse_shape(ir.MemRefType.get(shape, t.element_type, layout), buf, reassoc)


def collapse_trailing(buf: ir.Value, dims: int) -> ir.Value:
    """Memref ``buf`` with its last ``dims`` dims (contiguous) collapsed into one."""
    rank = ir.MemRefType(buf.type).rank
    return collapse(buf, [1] * (rank - dims) + [dims])


def subview(buf: ir.Value, offsets: list[Index], sizes: list[int]) -> ir.Value:
    """Unit-stride ``memref.subview`` (offsets static or run time)."""
    return memref.subview(buf, list(offsets), sizes, [1] * len(sizes))


def pixel_view(buf: ir.Value, prefix: list[Index], p0: Index, pixels: int) -> ir.Value:
    """``buf[*prefix, p0 : p0 + pixels, :]``, rank kept: a GEMM block's pixels of a row, each
    a constant offset from one base. Indexed ``p0 + i`` instead, LLVM spent an add and a shift
    on a pixel's load or store where it ran out of registers for the pixels' addresses."""
    return subview(buf, [*prefix, p0, 0], [1] * len(prefix) + [pixels, ir.MemRefType(buf.type).shape[-1]])


def loop(
    lo: Index, count: Index, acc: ir.Value | None, body: Callable[[Index, ir.Value | None], ir.Value | None]
) -> ir.Value | None:
    """``body(index, acc) -> acc`` once with a static index, or inside an ``scf.for``.

    ``acc`` is a tensor threaded through the loop, or ``None`` for code that writes memrefs
    in place (no iter_args, nothing returned).
    """
    if isinstance(count, int) and count == 1:
        return body(lo, acc)
    return loop_range(index(lo), index(add(lo, count)), acc, body)


def loop_range(
    lo: ir.Value,
    hi: ir.Value,
    acc: ir.Value | None,
    body: Callable[[Index, ir.Value | None], ir.Value | None],
) -> ir.Value | None:
    """``loop`` with bounds computed at run time."""
    for_op = scf.ForOp(lo, hi, index(1), [] if acc is None else [acc])
    with ir.InsertionPoint(for_op.body):
        out = body(for_op.induction_variable, None if acc is None else for_op.inner_iter_args[0])
        scf.YieldOp([] if acc is None else [out])
    return None if acc is None else for_op.results[0]


def no_unroll(for_op: scf.ForOp) -> None:
    """Ask LLVM not to unroll ``for_op`` (``llvm.loop.unroll.disable`` on its back edge)."""
    for_op.operation.attributes["loop_annotation"] = ir.Attribute.parse(
        "#llvm.loop_annotation<unroll = <disable = true>>"
    )


def loop_step(
    lo: Index, hi: Index, step: Index, body: Callable[[ir.Value], None], unroll: bool = True
) -> None:
    """``body(index)`` in an ``scf.for`` over [lo, hi) by ``step`` (memref code, no iter_args).

    ``unroll=False`` asks LLVM not to unroll it: a big straight-line body unrolled twice
    keeps twice the values live and spills.
    """
    for_op = scf.ForOp(index(lo), index(hi), index(step), [])
    if not unroll:
        no_unroll(for_op)
    with ir.InsertionPoint(for_op.body):
        body(for_op.induction_variable)
        scf.YieldOp([])


@dataclass(frozen=True)
class ConvGeometry:
    """Sizes of one conv, spatial dims in (d, h, w) order, W last."""

    in_spatial: tuple[Index, ...]  # index values for sizes given at run time
    out_spatial: tuple[Index, ...]
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pad_lo: tuple[int, ...]
    pad_hi: tuple[int, ...] = ()  # needed only for run-time sizes

    @staticmethod
    def of_spec(conv) -> ConvGeometry:
        """The static geometry of a ``ConvSpec`` (for decisions made before the IR exists)."""
        return ConvGeometry(
            conv.in_spatial,
            conv.out_spatial,
            conv.kernel,
            conv.strides,
            conv.dilations,
            tuple(lo for lo, _ in conv.padding),
        )

    @property
    def rank(self) -> int:
        return len(self.kernel)

    def is_dynamic(self, dim: int) -> bool:
        """Whether ``dim``'s size is known only at run time (its output's, or its input's
        alone: a module may give a dynamic input a static output)."""
        return not (isinstance(self.out_spatial[dim], int) and isinstance(self.in_spatial[dim], int))

    @property
    def runtime_sizes(self) -> bool:
        """Whether any spatial size is known only at run time."""
        return any(self.is_dynamic(j) for j in range(self.rank))

    def segments(self, dim: int) -> list[Segment]:
        if self.is_dynamic(dim) or not isinstance(self.in_spatial[dim], int):
            return dynamic_segments(
                self.in_spatial[dim],
                self.out_spatial[dim],
                self.kernel[dim],
                self.strides[dim],
                self.dilations[dim],
                self.pad_lo[dim],
                self.pad_hi[dim],
            )
        return segments(
            self.in_spatial[dim],
            self.out_spatial[dim],
            self.kernel[dim],
            self.strides[dim],
            self.dilations[dim],
            self.pad_lo[dim],
        )

    def input_index(self, dim: int, o: Index, k: Index) -> Index:
        return affine(o, self.strides[dim], k, self.dilations[dim], -self.pad_lo[dim])

    def outer_inputs(self, o_idx: Sequence[Index], k_idx: Sequence[Index]) -> list[Index]:
        """Input positions of outer outputs ``o_idx`` at outer taps ``k_idx`` (dims before W)."""
        return [self.input_index(j, o, k) for j, (o, k) in enumerate(zip(o_idx, k_idx, strict=True))]


RowEmitter = Callable[[list[Index], list[Index], ir.Value | None], ir.Value | None]


def outer_groups(geo: ConvGeometry, dim: int) -> list[Segment]:
    """The segments of an outer dim, with each border run of several segments merged into one
    whose tap range is computed per output at run time (``kmin > kmax`` marks it).

    Static tap ranges matter only for the interior, where every tap is in bounds; at the
    borders they multiply code size (a product over outer dims), so each border becomes one
    loop with clamped tap bounds.
    """
    segs = geo.segments(dim)
    full = [i for i, g in enumerate(segs) if (g.kmin, g.kmax) == (0, geo.kernel[dim] - 1)]
    if not full:
        return segs if len(segs) <= 2 else [_merged(segs)]
    head, mid, tail = segs[: full[0]], segs[full[0] : full[-1] + 1], segs[full[-1] + 1 :]
    return [
        *(head if len(head) <= 1 else [_merged(head)]),
        *mid,
        *(tail if len(tail) <= 1 else [_merged(tail)]),
    ]


# Border segments along W kept static on each side: K=3 and K=5 SAME keep their straight-line
# border blocks; wider borders become one loop with run-time tap bounds (``w_segments``).
MAX_STATIC_BORDER = 2


# W taps a static segment unrolls; a segment with more loops over them (a 1-D K=2000 filter
# unrolled into every 8-column block took 32 s to compile).
MAX_UNROLLED_W_TAPS = 64


def unrolled_w_taps(seg: Segment) -> bool:
    """Whether a W segment's taps are static and few enough to unroll."""
    return seg.kmin <= seg.kmax and seg.taps <= MAX_UNROLLED_W_TAPS


def over_w_taps(
    seg: Segment,
    acc: ir.Value,
    tap: Callable[[Index, ir.Value], ir.Value],
    bounds: Callable[[], tuple[Index, Index]] | None = None,
) -> ir.Value:
    """``acc`` through ``tap(k, acc)`` for every W tap of ``seg``: unrolled when the taps are
    static and few, else in an ``scf.for`` (over ``bounds()`` for a merged border segment)."""
    if unrolled_w_taps(seg):
        for k in range(seg.kmin, seg.kmax + 1):
            acc = tap(k, acc)
        return acc
    lo, hi = bounds() if seg.kmin > seg.kmax and bounds is not None else (seg.kmin, seg.kmax + 1)
    for_op = scf.ForOp(index(lo), index(hi), index(1), [acc])
    no_unroll(for_op)
    with ir.InsertionPoint(for_op.body):
        scf.YieldOp([tap(for_op.induction_variable, for_op.inner_iter_args[0])])
    return for_op.results[0]


def w_segments(geo: ConvGeometry) -> list[Segment]:
    """The W segments, with a border of more than ``MAX_STATIC_BORDER`` segments merged into
    one whose tap range is computed per output at run time (``kmin > kmax`` marks it).

    Each static segment unrolls its taps; a 1-D K=255 SAME conv has 127 border segments per
    side, and unrolling all of them grew code (and compile time) as K^2.
    """
    w = geo.rank - 1
    segs = geo.segments(w)
    full = [i for i, g in enumerate(segs) if (g.kmin, g.kmax) == (0, geo.kernel[w] - 1)]
    if not full:
        return segs if len(segs) <= 2 * MAX_STATIC_BORDER else [_merged(segs)]
    head, mid, tail = segs[: full[0]], segs[full[0] : full[-1] + 1], segs[full[-1] + 1 :]
    return [
        *(head if len(head) <= MAX_STATIC_BORDER else [_merged(head)]),
        *mid,
        *(tail if len(tail) <= MAX_STATIC_BORDER else [_merged(tail)]),
    ]


def _merged(segs: list[Segment]) -> Segment:
    end = add(segs[-1].start, segs[-1].count)
    return Segment(segs[0].start, sub(end, segs[0].start), 1, 0)


def tap_bounds(geo: ConvGeometry, dim: int, o: ir.Value) -> tuple[ir.Value, ir.Value]:
    """``[kmin, kmax + 1)`` of in-bounds taps of output ``o``: ``0 <= o*s + k*d - lo < in``."""
    idx = ir.IndexType.get()
    s, d, lo = geo.strides[dim], geo.dilations[dim], geo.pad_lo[dim]
    base = arith.muli(o, index(s)) if s != 1 else o
    first = arith.ceildivsi(arith.subi(index(lo), base), index(d))  # k*d >= lo - o*s
    last = arith.floordivsi(arith.subi(index(add(geo.in_spatial[dim], lo - 1)), base), index(d))
    kmin = arith.maxsi(first, arith.constant(idx, 0))
    kend = arith.minsi(arith.addi(last, arith.constant(idx, 1)), index(geo.kernel[dim]))
    return kmin, arith.maxsi(kend, kmin)


def outer_nest(geo: ConvGeometry, acc: ir.Value | None, row: RowEmitter) -> ir.Value | None:
    """Loop over outer output positions, then their in-bounds outer taps; ``row`` does W.

    ``row(outputs, taps, acc) -> acc`` receives one index per outer spatial dim (static ints
    where a segment has a single position); ``acc`` is ``None`` throughout for memref code.
    """
    groups = [outer_groups(geo, j) for j in range(geo.rank - 1)]

    def outputs(combo, level: int, o_idx: list[Index], a: ir.Value | None) -> ir.Value | None:
        if level == len(combo):
            return taps(combo, 0, o_idx, [], a)
        seg = combo[level]
        return loop(seg.start, seg.count, a, lambda o, b: outputs(combo, level + 1, [*o_idx, o], b))

    def taps(
        combo, level: int, o_idx: list[Index], k_idx: list[Index], a: ir.Value | None
    ) -> ir.Value | None:
        if level == len(combo):
            return row(o_idx, k_idx, a)
        seg = combo[level]

        def inner(k: Index, b: ir.Value | None) -> ir.Value | None:
            return taps(combo, level + 1, o_idx, [*k_idx, k], b)

        if seg.kmin <= seg.kmax:
            return loop(seg.kmin, seg.taps, a, inner)
        return loop_range(*tap_bounds(geo, level, index(o_idx[level])), a, inner)

    for combo in itertools.product(*groups):
        acc = outputs(combo, 0, [], acc)
    return acc


def tiles(seg: Segment, tile_cols: int, tile: Callable[[Index, int], None]) -> None:
    """``tile(first, count)`` over ``seg``'s outputs in tiles of ``tile_cols`` (a loop over the
    full ones, then the rest)."""
    full, rest = divmod(seg.count, tile_cols)
    if full == 1:
        tile(seg.start, tile_cols)
    elif full > 1:
        end = seg.start + full * tile_cols
        loop_step(seg.start, end, tile_cols, lambda t0: tile(t0, tile_cols), unroll=False)
    if rest:
        tile(seg.start + full * tile_cols, rest)


OutputRow = Callable[[tuple[Segment, ...], list[Index]], None]


def output_rows(geo: ConvGeometry, row: OutputRow) -> None:
    """``row(groups, outputs)`` for every outer output position (memref code): ``groups``
    are the outer segments it lies in, for ``accumulate_outer_taps``."""
    groups = [outer_groups(geo, j) for j in range(geo.rank - 1)]
    for combo in itertools.product(*groups):

        def outputs(level: int, o_idx: list[Index], combo=combo) -> None:
            if level == len(combo):
                row(combo, o_idx)
                return
            seg = combo[level]
            loop(seg.start, seg.count, None, lambda o, _: outputs(level + 1, [*o_idx, o]))

        outputs(0, [])


def accumulate_outer_taps(
    geo: ConvGeometry,
    combo: tuple[Segment, ...],
    o_idx: list[Index],
    accs: list[ir.Value],
    body: Callable[[list[Index], list[ir.Value]], list[ir.Value]],
) -> list[ir.Value]:
    """``body(taps, accs) -> accs`` over every in-bounds outer tap of outputs ``o_idx``, the
    accumulators carried in registers (``scf.for`` iter_args), so each output is stored once."""

    def level(lv: int, k_idx: list[Index], accs: list[ir.Value]) -> list[ir.Value]:
        if lv == len(combo):
            return body(k_idx, accs)
        g = combo[lv]
        if g.kmin <= g.kmax:
            if g.taps == 1:
                return level(lv + 1, [*k_idx, g.kmin], accs)
            lo, hi = index(g.kmin), index(g.kmax + 1)
        else:
            lo, hi = tap_bounds(geo, lv, index(o_idx[lv]))
        for_op = scf.ForOp(lo, hi, index(1), accs)
        with ir.InsertionPoint(for_op.body):
            scf.YieldOp(level(lv + 1, [*k_idx, for_op.induction_variable], list(for_op.inner_iter_args)))
        return list(for_op.results)

    return level(0, [], accs)


def block_widths(columns: int, cap: int, lone_wide: bool = True) -> list[tuple[int, int]]:
    """(width, count) runs of blocks covering ``columns``: as few blocks as ``cap`` allows,
    their widths differing by at most one (14 columns: two blocks of 7, not 8 and 6).

    Without ``lone_wide``, a plan of one wide block and a loop of narrow ones becomes full
    blocks and one rest (3-D rows of 10 in pairs: 4 + 4 + 2, not 4 + 3 + 3): in 3-D that
    loop spilled (18x18x10x64 outputs: 16.1 instructions per output at 128 bits, now 11.8;
    rows of 13: 14.9, now 11.3)."""
    blocks = -(-columns // cap)
    narrow, wide = divmod(columns, blocks)  # ``wide`` blocks of narrow + 1, the rest narrow
    if not lone_wide and wide == 1 and blocks - wide >= 2:
        full, rest = divmod(columns, cap)
        return [(cap, full), (rest, 1)]
    return [(w, c) for w, c in ((narrow + 1, wide), (narrow, blocks - wide)) if c]


def balanced_blocks(
    start: Index, count: int, cap: int, body: Callable[[Index, int], None], straight: bool = False
) -> None:
    """``body(first, size)`` over ``count`` items from ``start`` in the balanced blocks of
    ``block_widths``: a block size used once (every one with ``straight``) is emitted
    straight, a repeated one as a loop LLVM is told not to unroll. Nothing for ``count <= 0``."""
    if count <= 0:
        return
    p = start
    for size, times in block_widths(count, cap):
        if straight:
            for _ in range(times):
                body(p, size)
                p = affine(p, 1, 0, 0, size)
            continue
        if times == 1:
            body(p, size)
        else:
            end = affine(p, 1, 0, 0, size * times)
            loop_step(p, end, size, lambda q, size=size: body(q, size), unroll=False)
        p = affine(p, 1, 0, 0, size * times)


def opaque_index(v: Index, side_effects: bool = False) -> ir.Value:
    """``v`` through an empty inline asm: the same value, which LLVM can no longer fold.
    With ``side_effects`` it is also made where it stands, and never merged with another."""
    i64 = ir.IntegerType.get_signless(64)
    hidden = llvm.inline_asm(
        i64, [arith.index_cast(i64, index(v))], "", "=r,0", has_side_effects=side_effects
    )
    return arith.index_cast(ir.IndexType.get(), hidden)
