"""Our own scalable vectorizer for the depthwise variants upstream cannot vectorize.

Upstream's conv vectorizer handles only ``depthwise_conv_1d_nwc_wc`` (see ``decompose``).
For the rest we emit ``vector`` dialect IR directly, on tensors, inside the shared row nest:

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
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, scf, tensor, vector

from ..spec import OPS, OpInfo
from .nest import (
    ConvGeometry,
    Index,
    extract_slice,
    index,
    insert_slice,
    int_list,
    loop,
    outer_nest,
)

VECTOR_ROW_ATTR = "dwmlir.vector_rows"


def own_vectorizer_ops() -> dict[str, OpInfo]:
    """Ops handled here: everything but the plain channels-last ones."""
    return {
        f"linalg.{name}": info
        for name, info in OPS.items()
        if not info.channels_last or info.multiplier or info.quantized
    }


@dataclass(frozen=True)
class VectorShape:
    """Lanes per vector for a given accumulator width, and whether they scale with vscale."""

    bits: int
    scalable: bool

    def lanes(self, element_bits: int) -> int:
        return self.bits // element_bits


class _Emitter:
    """Emit the vector IR of one op; ``run`` returns the new value of its output tensor."""

    def __init__(
        self, op: ir.Operation, info: OpInfo, shape: VectorShape, source: ir.Value, pad_lo: list[int]
    ):
        self.info = info
        self.input = source
        self.filter = op.operands[1]
        self.zps = (op.operands[2], op.operands[3]) if info.quantized else None
        self.init = op.operands[len(op.operands) - 1]
        in_t = ir.RankedTensorType(source.type)
        out_t = ir.RankedTensorType(self.init.type)
        flt_t = ir.RankedTensorType(self.filter.type)
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
    def _vl(self) -> ir.Value:
        step = index(self.lanes)
        return arith.muli(vector.vscale(), step) if self.scalable else step

    def _zero(self, t: ir.Type) -> ir.Value:
        return arith.constant(t, 0.0) if not isinstance(t, ir.IntegerType) else arith.constant(t, 0)

    def _read(self, vt: ir.VectorType, src: ir.Value, indices: list[Index], mask: ir.Value) -> ir.Value:
        rank = ir.RankedTensorType(src.type).rank
        pad = self._zero(vt.element_type)
        perm = ir.AffineMap.get_minor_identity(rank, 1)
        return vector.transfer_read(vt, src, [index(i) for i in indices], perm, pad, [True], mask=mask)

    def _write(self, value: ir.Value, dest: ir.Value, indices: list[Index], mask: ir.Value) -> ir.Value:
        rank = ir.RankedTensorType(dest.type).rank
        perm = ir.AffineMap.get_minor_identity(rank, 1)
        return vector.transfer_write(
            dest.type, value, dest, [index(i) for i in indices], perm, [True], mask=mask
        )

    def _mac(self, acc: ir.Value, x: ir.Value, w: ir.Value) -> ir.Value:
        if self.is_float:
            return vector.fma(x, w, acc)
        return arith.addi(acc, arith.muli(x, w))

    def _widen(self, v: ir.Value, zp: ir.Value | None) -> ir.Value:
        """i8 -> i32 and subtract the zero point (quantized ops); identity otherwise."""
        if self.zps is None:
            return v
        wide = arith.extsi(self.vt, v)
        return arith.subi(wide, vector.broadcast(self.vt, zp))

    def _chunks(self, lo: Index, hi: int, acc: ir.Value, body) -> ir.Value:
        """``body(start, mask, acc) -> acc`` over [lo, hi) in vector-length steps."""
        for_op = scf.ForOp(index(lo), index(hi), self._vl(), [acc])
        with ir.InsertionPoint(for_op.body):
            iv = for_op.induction_variable
            mask = vector.create_mask(self.vt_mask, [arith.subi(index(hi), iv)])
            scf.YieldOp([body(iv, mask, for_op.inner_iter_args[0])])
        return for_op.results[0]

    # -- strategies --------------------------------------------------------------------------------
    def run(self) -> ir.Value:
        if self.info.channels_last:
            return loop(0, self.n, self.init, lambda n, a: outer_nest(self.geo, a, self._row_last(n)))
        return loop(
            0,
            self.n,
            self.init,
            lambda n, a: loop(0, self.c, a, lambda c, b: outer_nest(self.geo, b, self._row_first(n, c))),
        )

    def _row_first(self, n: Index, c: Index):
        """Rows are full-rank slices (sizes 1 but along W) read at [0, ..., 0, w]: a
        rank-reducing slice of a 1-wide row is ambiguous, and bufferization may then keep
        another unit dim's stride and break the row's unit-stride loads."""
        geo, r = self.geo, self.geo.rank
        w = r - 1
        s = geo.strides[w]
        iw, ow_size = geo.in_spatial[w], geo.out_spatial[w]
        full = list(range(r + 2))
        lead = [0] * (r + 1)

        def row(o_idx: list[Index], k_idx: list[Index], acc: ir.Value) -> ir.Value:
            unit = [1] * (r - 1)
            outer_in = [geo.input_index(j, o, k) for j, (o, k) in enumerate(zip(o_idx, k_idx, strict=True))]
            x_row = extract_slice(self.input, [n, c, *outer_in, 0], [1, 1, *unit, iw], full)
            out_offsets, out_sizes = [n, c, *o_idx, 0], [1, 1, *unit, ow_size]
            y_row = extract_slice(acc, out_offsets, out_sizes, full)
            stride_idx = None
            if s > 1:
                strided = arith.muli(vector.step(self.vt_idx), vector.broadcast(self.vt_idx, index(s)))
                stride_idx = arith.index_cast(self.vt_off, strided)
            for seg in geo.segments(w):

                def chunk(ow: ir.Value, mask: ir.Value, y: ir.Value, seg=seg) -> ir.Value:
                    acc_v = self._read(self.vt, y, [*lead, ow], mask)
                    for k in range(seg.kmin, seg.kmax + 1):
                        at = [*lead, geo.input_index(w, ow, k)]
                        if stride_idx is None:
                            x = self._read(self.vt_in, x_row, at, mask)
                        else:
                            x = vector.gather(
                                self.vt_in,
                                x_row,
                                [index(i) for i in at],
                                stride_idx,
                                mask,
                                self._splat_zero(),
                            )
                        tap = tensor.extract(self.filter, [index(c), *(index(i) for i in k_idx), index(k)])
                        acc_v = self._mac(acc_v, x, vector.broadcast(self.vt, tap))
                    return self._write(acc_v, y, [*lead, ow], mask)

                y_row = self._chunks(seg.start, seg.start + seg.count, y_row, chunk)
            return insert_slice(y_row, acc, out_offsets, out_sizes)

        return row

    def _splat_zero(self) -> ir.Value:
        return arith.constant(self.vt_in, ir.DenseElementsAttr.get_splat(self.vt_in, self._zero_attr()))

    def _zero_attr(self) -> ir.Attribute:
        if isinstance(self.in_elt, ir.IntegerType):
            return ir.IntegerAttr.get(self.in_elt, 0)
        return ir.FloatAttr.get(self.in_elt, 0.0)

    def _row_last(self, n: Index):
        geo, r = self.geo, self.geo.rank
        w = r - 1
        iw, ow_size = geo.in_spatial[w], geo.out_spatial[w]
        kw = geo.kernel[w]
        cm = self.c * self.m
        mult = self.info.multiplier

        def flat(t: ir.Value, rows: int) -> ir.Value:
            if not mult:
                return t
            elt = ir.RankedTensorType(t.type).element_type
            return tensor.collapse_shape(ir.RankedTensorType.get([rows, cm], elt), t, [[0], [1, 2]])

        def row(o_idx: list[Index], k_idx: list[Index], acc: ir.Value) -> ir.Value:
            unit = [1] * (r - 1)
            outer_in = [geo.input_index(j, o, k) for j, (o, k) in enumerate(zip(o_idx, k_idx, strict=True))]
            x_rows = extract_slice(self.input, [n, *outer_in, 0, 0], [1, *unit, iw, self.c], [r, r + 1])
            m_dims = [self.m] if mult else []
            f_keep = [r - 1, r] + ([r + 1] if mult else [])
            f_rows = flat(
                extract_slice(
                    self.filter, [*k_idx, 0, 0, *([0] * len(m_dims))], [*unit, kw, self.c, *m_dims], f_keep
                ),
                kw,
            )
            out_offsets = [n, *o_idx, 0, 0, *([0] * len(m_dims))]
            out_sizes = [1, *unit, ow_size, self.c, *m_dims]
            y_keep = [r, r + 1] + ([r + 2] if mult else [])
            y_rows = flat(extract_slice(acc, out_offsets, out_sizes, y_keep), ow_size)
            for seg in geo.segments(w):

                def column(ow: Index, y: ir.Value, seg=seg) -> ir.Value:
                    def chunk(j0: ir.Value, mask: ir.Value, yy: ir.Value) -> ir.Value:
                        acc_v = self._read(self.vt, yy, [ow, j0], mask)
                        gather_idx = None
                        if mult:
                            lanes = arith.addi(vector.step(self.vt_idx), vector.broadcast(self.vt_idx, j0))
                            channel = arith.divui(lanes, vector.broadcast(self.vt_idx, index(self.m)))
                            gather_idx = arith.index_cast(self.vt_off, channel)
                        for k in range(seg.kmin, seg.kmax + 1):
                            col = geo.input_index(w, ow, k)
                            if gather_idx is None:
                                x = self._read(self.vt_in, x_rows, [col, j0], mask)
                            else:
                                x = vector.gather(
                                    self.vt_in,
                                    x_rows,
                                    [index(col), index(0)],
                                    gather_idx,
                                    mask,
                                    self._splat_zero(),
                                )
                            wv = self._read(self.vt_in, f_rows, [k, j0], mask)
                            x = self._widen(x, self.zps[0] if self.zps else None)
                            wv = self._widen(wv, self.zps[1] if self.zps else None)
                            acc_v = self._mac(acc_v, x, wv)
                        return self._write(acc_v, yy, [ow, j0], mask)

                    return self._chunks(0, cm, y, chunk)

                y_rows = loop(seg.start, seg.count, y_rows, column)
            if mult:
                elt = self.acc_elt
                y_rows = tensor.expand_shape(
                    ir.RankedTensorType.get([ow_size, self.c, self.m], elt),
                    y_rows,
                    [[0], [1, 2]],
                    [],
                    [ow_size, self.c, self.m],
                )
            return insert_slice(y_rows, acc, out_offsets, out_sizes)

        return row


def vectorize_rows(op: ir.Operation, source: ir.Value, pad_lo: list[int], shape: VectorShape) -> ir.Value:
    """Emit vector IR for ``op`` before it and return the value replacing its result."""
    info = own_vectorizer_ops()[op.name]
    with ir.InsertionPoint(op), op.location:
        return _Emitter(op, info, shape, source, pad_lo).run()
