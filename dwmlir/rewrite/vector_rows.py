"""Our own scalable vectorizer, for every depthwise op.

Upstream's conv vectorizer handles only ``depthwise_conv_1d_nwc_wc`` (see ``decompose``).
We emit ``vector`` dialect IR directly, on memrefs. The plain channels-last ops get
register-blocked rows (``blocked``); the variants upstream cannot vectorize at all are
done row by row inside the shared row nest:

* channels-first (``ncw_cw``, ``nchw_chw``, ``ncdhw_cdhw``): W is contiguous, so each
  (n, c) output row is computed in scalable chunks along W. Each tap is one contiguous
  masked load (a gather of every ``s``-th element when the stride is > 1) times the tap's
  scalar weight, broadcast. No transpose, no extra buffer.
* channel multiplier (``*_wcm``, ``*_hwcm``, ``*_dhwcm``): output and filter are contiguous
  over the flattened (c, m) dim, so we vectorize over it; the input element of lane j is
  ``x[c = j / M]``, read with a gather (a contiguous load when M = 1).
* quantized (``*_q``): i8 operands are loaded as i8 vectors, sign-extended to i32 and
  offset by their zero points before the multiply-accumulate: (x - zx) * (w - zw).

Masks cover only the tail of the vectorized dim (``vector.create_mask``), so the same code
runs at every SVE vector length.

The code reads and writes buffers in place rather than threading the output tensor through
the loop nest: one-shot bufferization's analysis of long chains of nested ``scf.for``
iter_args grows exponentially (a 3-D channels-first conv with padding 3 took minutes), and
there is nothing left for it to decide here. A kernel's buffers are found behind
``bufferization.to_tensor`` and ``materialize_in_destination``; other tensors (``dwmlir
lower``) are bridged with ``to_buffer`` and a fresh output buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, bufferization, memref, scf, vector

from ..ir.builder import zero_constant
from ..spec import OPS, OpInfo
from .blocked import BlockedRows, covers_every_output
from .nest import (
    ConvGeometry,
    Index,
    collapse_trailing,
    defining_op,
    index,
    int_list,
    is_zero_constant,
    loop,
    loop_step,
    outer_nest,
)

VECTOR_ROW_ATTR = "dwmlir.vector_rows"


def own_vectorizer_ops() -> dict[str, OpInfo]:
    """Ops only we can vectorize: everything but the plain channels-last ones."""
    return {info.mlir_name: info for info in OPS.values() if not info.plain_channels_last}


def all_depthwise_ops() -> dict[str, OpInfo]:
    """Every depthwise op by MLIR name (the plain channels-last ones go to ``blocked``)."""
    return {info.mlir_name: info for info in OPS.values()}


@dataclass(frozen=True)
class VectorShape:
    """Lanes per vector for a given accumulator width, and whether they scale with vscale."""

    bits: int
    scalable: bool

    def lanes(self, element_bits: int) -> int:
        return self.bits // element_bits


@dataclass(frozen=True)
class Buffers:
    """Where one op reads and writes: input (padding stripped), filter, output memrefs."""

    input: ir.Value
    filter: ir.Value
    output: ir.Value


class _Emitter:
    """Emit the vector IR of one op, writing its output buffer in place."""

    def __init__(self, op: ir.Operation, info: OpInfo, shape: VectorShape, bufs: Buffers, pad_lo: list[int]):
        self.info = info
        self.input, self.filter, self.out = bufs.input, bufs.filter, bufs.output
        self.zps = (op.operands[2], op.operands[3]) if info.quantized else None
        in_t = ir.MemRefType(self.input.type)
        out_t = ir.MemRefType(self.out.type)
        flt_t = ir.MemRefType(self.filter.type)
        sp = info.spatial
        self.in_elt, self.acc_elt = in_t.element_type, out_t.element_type
        self.is_float = not isinstance(self.acc_elt, ir.IntegerType)
        lay_in, lay_f, lay_o = info.input_layout, info.filter_layout, info.output_layout
        self.n = in_t.shape[lay_in.index("n")]
        self.c = in_t.shape[lay_in.index("c")]
        self.m = flt_t.shape[lay_f.index("m")] if info.multiplier else 1
        self.geo = ConvGeometry(
            in_spatial=tuple(in_t.shape[lay_in.index(ch)] for ch in sp),
            out_spatial=tuple(out_t.shape[lay_o.index(ch)] for ch in sp),
            kernel=tuple(flt_t.shape[lay_f.index(ch)] for ch in sp),
            strides=tuple(int_list(op.attributes["strides"])),
            dilations=tuple(int_list(op.attributes["dilations"])),
            pad_lo=tuple(pad_lo[lay_in.index(ch)] for ch in sp),
        )
        lanes = shape.lanes(self.acc_elt.width)
        self.vt = ir.VectorType.get([lanes], self.acc_elt, scalable=[shape.scalable])
        self.vt_in = ir.VectorType.get([lanes], self.in_elt, scalable=[shape.scalable])
        self.vt_mask = ir.VectorType.get([lanes], ir.IntegerType.get_signless(1), scalable=[shape.scalable])
        self.vt_idx = ir.VectorType.get([lanes], ir.IndexType.get(), scalable=[shape.scalable])
        # 32-bit gather offsets: SVE gathers 32-bit lanes with 32-bit offsets in one instruction.
        self.vt_off = ir.VectorType.get([lanes], ir.IntegerType.get_signless(32), scalable=[shape.scalable])
        self.lanes, self.scalable = lanes, shape.scalable

    # -- small builders --------------------------------------------------------------------------
    def read(self, vt: ir.VectorType, src: ir.Value, indices: list[Index], mask: ir.Value) -> ir.Value:
        rank = ir.MemRefType(src.type).rank
        pad = zero_constant(vt.element_type)
        perm = ir.AffineMap.get_minor_identity(rank, 1)
        return vector.transfer_read(vt, src, [index(i) for i in indices], perm, pad, [True], mask=mask)

    def write(self, value: ir.Value, dest: ir.Value, indices: list[Index], mask: ir.Value) -> None:
        rank = ir.MemRefType(dest.type).rank
        perm = ir.AffineMap.get_minor_identity(rank, 1)
        vector.transfer_write(None, value, dest, [index(i) for i in indices], perm, [True], mask=mask)

    def mac(self, acc: ir.Value | None, x: ir.Value, w: ir.Value) -> ir.Value:
        """``acc + x * w``; just ``x * w`` when there is no accumulator yet."""
        if acc is None:
            return arith.mulf(x, w) if self.is_float else arith.muli(x, w)
        if self.is_float:
            return vector.fma(x, w, acc)
        return arith.addi(acc, arith.muli(x, w))

    def _widen(self, v: ir.Value, zp: ir.Value | None) -> ir.Value:
        """i8 -> i32 and subtract the zero point (quantized ops); identity otherwise."""
        if self.zps is None:
            return v
        wide = arith.extsi(self.vt, v)
        return arith.subi(wide, vector.broadcast(self.vt, zp))

    def _chunks(self, lo: Index, hi: int, body) -> None:
        """``body(start, mask)`` over [lo, hi) in vector-length steps."""
        loop_step(lo, hi, self.vector_length(), lambda i: body(i, self._tail_mask(hi, i)))

    def _tail_mask(self, hi: Index, start: ir.Value) -> ir.Value:
        """Lanes ``start + i < hi``."""
        return vector.create_mask(self.vt_mask, [arith.subi(index(hi), start)])

    def vector_length(self) -> ir.Value:
        """Lanes per vector, at run time when scalable."""
        return arith.muli(vector.vscale(), index(self.lanes)) if self.scalable else index(self.lanes)

    def channel_steps(self, body) -> None:
        """``body(start, mask)`` over the channel dim: full vectors with no mask (``None``),
        then the partial last vector, if any, masked."""
        total = self.c * self.m
        if not self.scalable:
            main, rem = total - total % self.lanes, total % self.lanes
            if main:
                loop_step(0, main, self.lanes, lambda c0: body(c0, None))
            if rem:
                body(index(main), self._tail_mask(total, index(main)))
            return
        vl = self.vector_length()
        main = arith.subi(index(total), arith.remui(index(total), vl))
        loop_step(index(0), main, vl, lambda c0: body(c0, None))
        tail = scf.IfOp(arith.cmpi(arith.CmpIPredicate.ult, main, index(total)))
        with ir.InsertionPoint(tail.then_block):
            body(main, self._tail_mask(total, main))
            scf.YieldOp([])

    # -- strategies --------------------------------------------------------------------------------
    def fill(self, value: ir.Value) -> None:
        """Every output element = ``value``: the output seen as one contiguous vector run."""
        flat = collapse_trailing(self.out, ir.MemRefType(self.out.type).rank)
        splat = vector.broadcast(self.vt, value)
        self._chunks(0, ir.MemRefType(flat.type).shape[0], lambda i, mask: self.write(splat, flat, [i], mask))

    def run(self) -> None:
        """Add every tap's products to the output buffer."""
        if self.info.plain_channels_last:
            rows = BlockedRows(self, from_output=True)
            loop(0, self.n, None, lambda n, _: rows.emit(n))
            return
        if self.info.channels_last:
            loop(0, self.n, None, lambda n, _: outer_nest(self.geo, None, self._row_last(n)))
            return
        loop(
            0,
            self.n,
            None,
            lambda n, _: loop(
                0, self.c, None, lambda c, __: outer_nest(self.geo, None, self._row_first(n, c))
            ),
        )

    def _row_first(self, n: Index, c: Index):
        """Each (n, c, outer outputs) row of W outputs, in vector chunks along W."""
        geo, r = self.geo, self.geo.rank
        w = r - 1
        s = geo.strides[w]

        def row(o_idx: list[Index], k_idx: list[Index], _: None) -> None:
            outer_in = geo.outer_inputs(o_idx, k_idx)
            stride_idx = None
            if s > 1:
                strided = arith.muli(vector.step(self.vt_idx), vector.broadcast(self.vt_idx, index(s)))
                stride_idx = arith.index_cast(self.vt_off, strided)
            for seg in geo.segments(w):

                def chunk(ow: ir.Value, mask: ir.Value, seg=seg) -> None:
                    y_at = [n, c, *o_idx, ow]
                    acc_v = self.read(self.vt, self.out, y_at, mask)
                    for k in range(seg.kmin, seg.kmax + 1):
                        at = [index(i) for i in (n, c, *outer_in, geo.input_index(w, ow, k))]
                        if stride_idx is None:
                            x = self.read(self.vt_in, self.input, at, mask)
                        else:
                            x = vector.gather(
                                self.vt_in, self.input, at, stride_idx, mask, self.zero_vector(self.vt_in)
                            )
                        tap = memref.load(self.filter, [index(c), *(index(i) for i in k_idx), index(k)])
                        acc_v = self.mac(acc_v, x, vector.broadcast(self.vt, tap))
                    self.write(acc_v, self.out, y_at, mask)

                self._chunks(seg.start, seg.start + seg.count, chunk)

        return row

    def zero_vector(self, vt: ir.VectorType) -> ir.Value:
        elt = vt.element_type
        zero = ir.IntegerAttr.get(elt, 0) if isinstance(elt, ir.IntegerType) else ir.FloatAttr.get(elt, 0.0)
        return arith.constant(vt, ir.DenseElementsAttr.get_splat(vt, zero))

    def _row_last(self, n: Index):
        """Each (n, outer outputs) row: per output column, the (c, m) channels in chunks.

        With a multiplier, filter and output are viewed with (c, m) collapsed into one
        contiguous dim; lane j reads input channel j / M.
        """
        geo, r = self.geo, self.geo.rank
        w = r - 1
        cm = self.c * self.m
        mult = self.info.multiplier
        flt, out = self.filter, self.out
        if mult:  # (..., c, m) -> (..., c*m): both are contiguous, identity-layout buffers
            flt, out = (collapse_trailing(v, 2) for v in (flt, out))

        def row(o_idx: list[Index], k_idx: list[Index], _: None) -> None:
            outer_in = geo.outer_inputs(o_idx, k_idx)
            for seg in geo.segments(w):

                def column(ow: Index, _: None, seg=seg) -> None:
                    def chunk(j0: ir.Value, mask: ir.Value) -> None:
                        y_at = [n, *o_idx, ow, j0]
                        acc_v = self.read(self.vt, out, y_at, mask)
                        gather_idx = None
                        if mult:
                            lanes = arith.addi(vector.step(self.vt_idx), vector.broadcast(self.vt_idx, j0))
                            channel = arith.divui(lanes, vector.broadcast(self.vt_idx, index(self.m)))
                            gather_idx = arith.index_cast(self.vt_off, channel)
                        for k in range(seg.kmin, seg.kmax + 1):
                            col = geo.input_index(w, ow, k)
                            if gather_idx is None:
                                x = self.read(self.vt_in, self.input, [n, *outer_in, col, j0], mask)
                            else:
                                at = [index(i) for i in (n, *outer_in, col, 0)]
                                x = vector.gather(
                                    self.vt_in, self.input, at, gather_idx, mask, self.zero_vector(self.vt_in)
                                )
                            wv = self.read(self.vt_in, flt, [*k_idx, k, j0], mask)
                            x = self._widen(x, self.zps[0] if self.zps else None)
                            wv = self._widen(wv, self.zps[1] if self.zps else None)
                            acc_v = self.mac(acc_v, x, wv)
                        self.write(acc_v, out, y_at, mask)

                    self._chunks(0, cm, chunk)

                loop(seg.start, seg.count, None, column)

        return row


def _buffer_of(value: ir.Value) -> ir.Value:
    """The memref a tensor was made from, or a ``to_buffer`` of it (read only)."""
    owner = defining_op(value)
    if owner is not None and owner.name == "bufferization.to_tensor":
        return owner.operands[0]
    t = ir.RankedTensorType(value.type)
    return bufferization.to_buffer(ir.MemRefType.get(t.shape, t.element_type), value, read_only=True)


def _fill_value(init: ir.Value) -> ir.Value | None:
    """The scalar of a ``linalg.fill`` of a ``tensor.empty`` (the usual conv init), else None."""
    fill = defining_op(init)
    if fill is None or fill.name != "linalg.fill":
        return None
    dest = defining_op(fill.operands[1])
    if dest is None or dest.name != "tensor.empty":
        return None
    return fill.operands[0]


def erase_dead(op: ir.Operation | None) -> None:
    """Erase ``op`` and, transitively, the operand producers it was the last user of."""
    if op is None or any(len(list(r.uses)) for r in op.results):
        return
    producers = [p for p in map(defining_op, op.operands) if p is not None]
    op.erase()
    for p in producers:
        if p.name in ("linalg.fill", "tensor.empty", "arith.constant"):
            erase_dead(p)


def vectorize_rows(
    op: ir.Operation, source: ir.Value, pad_lo: list[int], shape: VectorShape
) -> ir.Value | None:
    """Emit vector IR for ``op`` before it, writing a buffer in place.

    When the op's only use materializes it into a memref (a dwmlir kernel), that memref is
    written directly, the materialization erased and ``None`` returned. Otherwise a new
    buffer is written and returned as a tensor to replace the op's result.
    """
    info = all_depthwise_ops()[op.name]
    init = op.operands[len(op.operands) - 1]
    uses = list(op.results[0].uses)
    sink = uses[0].owner if len(uses) == 1 else None
    in_place = (
        sink is not None
        and sink.operation.name == "bufferization.materialize_in_destination"
        and isinstance(sink.operation.operands[1].type, ir.MemRefType)
    )
    with ir.InsertionPoint(op), op.location:
        if in_place:
            out = sink.operation.operands[1]
        else:
            t = ir.RankedTensorType(init.type)
            out = memref.alloc(ir.MemRefType.get(t.shape, t.element_type), [], [])
        bufs = Buffers(_buffer_of(source), _buffer_of(op.operands[1]), out)
        emitter = _Emitter(op, info, shape, bufs, pad_lo)
        fill = _fill_value(init)
        if info.plain_channels_last and fill is not None and covers_every_output(emitter.geo):
            # Blocked rows store every output once, so they start from the fill value
            # themselves: no fill pass.
            rows = BlockedRows(emitter, None if is_zero_constant(fill) else fill)
            loop(0, emitter.n, None, lambda n, _: rows.emit(n))
        else:
            if fill is not None:
                emitter.fill(fill)
            else:
                memref.copy(_buffer_of(init), out)
            emitter.run()
        if in_place:
            sink.operation.erase()
            return None
        return bufferization.to_tensor(ir.RankedTensorType(init.type), out, restrict=True, writable=True)
