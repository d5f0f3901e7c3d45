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

Every output vector accumulates all its taps in registers (outer taps in ``scf.for``
iter_args) and is stored once, through a fused epilogue if the payload has one (bias,
activation, int8 requantization). A fused pointwise conv instead gets tiles of the
depthwise outputs in a stack scratch (``*_fused`` row emitters) for its GEMM
(``pointwise``).

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

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, bufferization, llvm, memref, scf, tensor, vector

from ..errors import InternalError
from ..ir.builder import PART_ATTR, zero_constant
from ..ir.epilogue import (
    EPILOGUE_ATTR,
    EXPAND_ATTR,
    EXPAND_EPILOGUE_ATTR,
    POINTWISE_ATTR,
    PW_EPILOGUE_ATTR,
    apply_epilogue,
    epilogue_from_attr,
    residual_from_attr,
)
from ..spec import OPS, Epilogue, OpInfo
from .blocked import BlockedRows, band_units, covers_every_output, part_bands, sweeps
from .expand import (
    MAX_TILE_COLS,
    MIN_CHUNK,
    ExpandedBlock,
    FusedExpand,
    chunk_channels,
    chunk_epilogue,
    chunk_flags,
    for_chunks,
    outlines,
    widest_lanes,
)
from .nest import (
    MAX_VSCALE,
    VIEW_OPS,
    ConvGeometry,
    Index,
    accumulate_outer_taps,
    add,
    affine,
    collapse,
    collapse_trailing,
    defining_op,
    enclosing_func,
    if_within,
    index,
    int_list,
    is_zero_constant,
    loop,
    loop_range,
    loop_step,
    mul,
    output_rows,
    over_w_taps,
    subview,
    tap_bounds,
    tiles,
    w_segments,
)
from .outline import outlined
from .pointwise import (
    LANE_PIXELS,
    SCRATCH_BYTES,
    FusedPointwise,
    PointwiseGemm,
    PointwiseGemmFirst,
    gemm_blocks,
    rows_target,
    scratch_budget,
    tile_pixels,
)

VECTOR_ROW_ATTR = "dwmlir.vector_rows"
# bf16 multiply-adds: SVE's bfmlalb on the bottom halves of 32-bit lanes (True), or widen
# every operand with a shift and use f32 FMAs (False); see docs/performance.md, "bf16".
BF16_BFMLALB = True


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


class Residual:
    """The block's input, added to the depthwise results as they are stored (a block without
    a pointwise conv). The input has the output's shape and layout, so the element to add to
    output view ``dest[i]`` is ``source(dest)[i]``: the view made by the same ops from the
    input buffer (of the input's element type: a bf16 block's output may be f32)."""

    def __init__(self, output: ir.Value, input: ir.Value) -> None:
        self._views: dict[ir.Value, ir.Value] = {output: input}

    def source(self, dest: ir.Value) -> ir.Value:
        """The input view that matches output view ``dest`` (made just before it)."""
        if dest in self._views:
            return self._views[dest]
        op = defining_op(dest)
        if op is None or op.name not in VIEW_OPS:
            raise InternalError(f"a residual block stores to {dest.type}, which is not a view of its output")
        base = self.source(op.operands[0])
        with ir.InsertionPoint(op):
            view = op.clone()
        view.operands[0] = base
        t, elt = ir.MemRefType(dest.type), ir.MemRefType(base.type).element_type
        if t.element_type != elt:
            view.results[0].set_type(ir.MemRefType.get(t.shape, elt, t.layout, t.memory_space))
        self._views[dest] = view.results[0]
        return view.results[0]


@dataclass(frozen=True)
class FusedEpilogue:
    """An epilogue applied to the accumulators before their one store, with its per-channel
    parameter buffers (1-D over the C*M output channels), and the block input's residual
    add after it, if any."""

    epilogue: Epilogue
    bias: ir.Value | None
    scale: ir.Value | None
    residual: Residual | None = None


@dataclass(frozen=True)
class ChannelParams:
    """Bias and scale of the output lanes about to be stored (vectors), or None."""

    bias: ir.Value | None = None
    scale: ir.Value | None = None


class _Emitter:
    """Emit the vector IR of one op, writing its output buffer in place."""

    def __init__(
        self,
        op: ir.Operation,
        info: OpInfo,
        shape: VectorShape,
        bufs: Buffers,
        pad_lo: list[int],
        epilogue: FusedEpilogue | None = None,
    ):
        self.op = op
        self.info = info
        self.epilogue = epilogue
        self.input, self.filter, self.out = bufs.input, bufs.filter, bufs.output
        self.zps = (op.operands[2], op.operands[3]) if info.quantized else None
        in_t = ir.MemRefType(self.input.type)
        flt_t = ir.MemRefType(self.filter.type)
        sp = info.spatial
        # The accumulator type is the conv's; the output's differs when an epilogue requantizes.
        acc_t = ir.RankedTensorType(op.operands[len(op.operands) - 1].type)
        self.in_elt, self.acc_elt = in_t.element_type, acc_t.element_type
        self.is_float = not isinstance(self.acc_elt, ir.IntegerType)
        # bf16 operands accumulate in f32: with bfmlalb (or widened as they are read).
        self.widen_float = self.is_float and self.in_elt != self.acc_elt
        self.bfmlal = self.widen_float and BF16_BFMLALB and shape.scalable
        lay_in, lay_f, lay_o = info.input_layout, info.filter_layout, info.output_layout
        # Sizes known only at run time are index values (memref.dim of the buffers).
        self.in_dims = sizes(self.input)
        out_dims = self.out_dims = sizes(self.out)
        self.n = self.in_dims[lay_in.index("n")]
        self.c = in_t.shape[lay_in.index("c")]
        self.m = flt_t.shape[lay_f.index("m")] if info.multiplier else 1
        if not all(isinstance(v, int) for v in (self.c, self.m, *flt_t.shape)):
            raise InternalError(f"{op.name} at {op.location}: channel and filter sizes must be static")
        pad_hi = _pad_high(op)
        self.pad_lo = list(pad_lo)  # per input dim, in the input layout's order
        self.geo = ConvGeometry(
            in_spatial=tuple(self.in_dims[lay_in.index(ch)] for ch in sp),
            out_spatial=tuple(out_dims[lay_o.index(ch)] for ch in sp),
            kernel=tuple(flt_t.shape[lay_f.index(ch)] for ch in sp),
            strides=tuple(int_list(op.attributes["strides"])),
            dilations=tuple(int_list(op.attributes["dilations"])),
            pad_lo=tuple(pad_lo[lay_in.index(ch)] for ch in sp),
            pad_hi=tuple(pad_hi[lay_in.index(ch)] for ch in sp),
        )
        lanes = shape.lanes(self.acc_elt.width)
        self.vt = ir.VectorType.get([lanes], self.acc_elt, scalable=[shape.scalable])
        self.vt_in = ir.VectorType.get([lanes], self.in_elt, scalable=[shape.scalable])
        i16, i32 = ir.IntegerType.get_signless(16), ir.IntegerType.get_signless(32)
        self.vt_i16 = ir.VectorType.get([lanes], i16, scalable=[shape.scalable])
        self.vt_i32 = ir.VectorType.get([lanes], i32, scalable=[shape.scalable])
        self.vt_pairs = ir.VectorType.get([2 * lanes], self.in_elt, scalable=[shape.scalable])
        self.vt_scale = ir.VectorType.get([lanes], ir.F32Type.get(), scalable=[shape.scalable])
        self.vt_mask = ir.VectorType.get([lanes], ir.IntegerType.get_signless(1), scalable=[shape.scalable])
        self.vt_idx = ir.VectorType.get([lanes], ir.IndexType.get(), scalable=[shape.scalable])
        # 32-bit gather offsets: SVE gathers 32-bit lanes with 32-bit offsets in one instruction.
        self.vt_off = ir.VectorType.get([lanes], ir.IntegerType.get_signless(32), scalable=[shape.scalable])
        self.lanes, self.scalable = lanes, shape.scalable
        # The filter over (..., c*m): contiguous, so a vector of lanes reads one run.
        multi = info.multiplier and info.channels_last
        self.filter_cm = collapse_trailing(self.filter, 2) if multi else self.filter
        # The output channels this function computes: all, or a NAME_part's share (split_channels).
        self.channels: tuple[Index, Index] = (0, self.c * self.m)
        # A fused block's NAME_part: [lo, hi) of the flat output pixels whose tiles it computes.
        self.pixels: tuple[ir.Value, ir.Value] | None = None
        # An expand block's ring (``expand.ExpandPlan.mapped``): input row -> the buffer row
        # holding it, which only ``BlockedRows._sweep`` reads through.
        self.row_map: Callable[[Index], Index] | None = None
        # A NAME_part sharing rows: [lo, hi) of its (batch entry, band) sequence, and the rows
        # per band (split_work).
        self.row_share: tuple[ir.Value, ir.Value] | None = None
        self.part_bands: int | None = None

    # -- small builders --------------------------------------------------------------------------
    def read(self, vt: ir.VectorType, src: ir.Value, indices: list[Index], mask: ir.Value) -> ir.Value:
        rank = ir.MemRefType(src.type).rank
        pad = zero_constant(vt.element_type)
        perm = ir.AffineMap.get_minor_identity(rank, 1)
        v = vector.transfer_read(vt, src, [index(i) for i in indices], perm, pad, [True], mask=mask)
        return self.extend(v) if vt == self.vt_in else v

    def read_acc(self, buf: ir.Value, indices: list[Index], mask: ir.Value | None) -> ir.Value:
        """``buf[indices ..]`` as an accumulator vector: a bf16 buffer (a bf16 block's weights
        or input) widened to the f32 accumulators, any other read as it is."""
        elt = ir.MemRefType(buf.type).element_type
        if elt == self.vt.element_type or not isinstance(elt, ir.BF16Type):
            return self.read(self.vt, buf, indices, mask)
        v = self.read(self.vt_in, buf, indices, mask)
        return v if v.type == self.vt else arith.extf(self.vt, v)

    def extend(self, v: ir.Value) -> ir.Value:
        """A bf16 operand (vector or scalar) as f32 when multiply-adds are f32 FMAs (the
        widening route: ``ld1h`` into 32-bit lanes then ``lsl #16``); unchanged with
        ``bfmlalb``, which takes the bf16 operands as loaded, and for other types."""
        if not self.widen_float or self.bfmlal:  # bfmlalb takes the bf16 operands as they are
            return v
        return arith.extf(self.vt if isinstance(v.type, ir.VectorType) else self.acc_elt, v)

    def _bottom_halves(self, v: ir.Value) -> ir.Value:
        """A ``vector<[4]xbf16>`` as the even elements of a ``vector<[8]xbf16>`` (bfmlalb's
        operand): zero-extended to 32-bit lanes, which LLVM folds into the ``ld1h { z.s }``."""
        wide = arith.extui(self.vt_i32, arith.bitcast(self.vt_i16, v))
        return vector.bitcast(self.vt_pairs, wide)

    def write(self, value: ir.Value, dest: ir.Value, indices: list[Index], mask: ir.Value) -> None:
        """Store ``value``; f32 accumulators into a bf16 buffer are rounded to nearest-even."""
        dest_t = ir.MemRefType(dest.type)
        rank = dest_t.rank
        if self.widen_float and ir.VectorType(value.type).element_type != dest_t.element_type:
            vt = ir.VectorType(value.type)
            value = arith.truncf(
                ir.VectorType.get(vt.shape, dest_t.element_type, scalable=vt.scalable_dims), value
            )
        perm = ir.AffineMap.get_minor_identity(rank, 1)
        vector.transfer_write(None, value, dest, [index(i) for i in indices], perm, [True], mask=mask)

    def channel_params(self, c0: Index, mask: ir.Value | None) -> ChannelParams:
        """Epilogue parameters of output channels ``c0 ..`` (channels-last: lanes are channels)."""
        fused = self.epilogue
        if fused is None:
            return ChannelParams()
        return ChannelParams(
            self.read(self.vt, fused.bias, [c0], mask) if fused.bias is not None else None,
            self.read(self.vt_scale, fused.scale, [c0], mask) if fused.scale is not None else None,
        )

    def scalar_params(self, c: Index) -> ChannelParams:
        """Epilogue parameters of one output channel, broadcast (channels-first: lanes run along W)."""
        fused = self.epilogue
        if fused is None:
            return ChannelParams()

        def splat(buf: ir.Value | None, vt: ir.VectorType) -> ir.Value | None:
            return None if buf is None else vector.broadcast(vt, memref.load(buf, [index(c)]))

        return ChannelParams(splat(fused.bias, self.vt), splat(fused.scale, self.vt_scale))

    def store(
        self,
        acc: ir.Value,
        params: ChannelParams,
        dest: ir.Value,
        indices: list[Index],
        mask: ir.Value | None,
    ) -> None:
        """Write finished accumulators, through the epilogue if there is one (and its
        residual add)."""
        value = self.epilogued(acc, params)
        residual = self.epilogue.residual if self.epilogue is not None else None
        if residual is not None:  # a bf16 input widened: the f32 sum is rounded once, by write
            value = arith.addf(value, self.read_acc(residual.source(dest), indices, mask))
        self.write(value, dest, indices, mask)

    def epilogued(self, acc: ir.Value, params: ChannelParams) -> ir.Value:
        """Finished accumulators through the epilogue, if there is one."""
        if self.epilogue is not None:
            acc = apply_epilogue(acc, self.epilogue.epilogue, params.bias, params.scale)
        return acc

    def mac(self, acc: ir.Value | None, x: ir.Value, w: ir.Value) -> ir.Value:
        """``acc + x * w``; just ``x * w`` when there is no accumulator yet."""
        if self.bfmlal:  # f32 acc + bf16 x * bf16 w, fused; SVE has no bf16 multiply alone
            acc = acc if acc is not None else self.zero_vector(self.vt)
            args = [acc, self._bottom_halves(x), self._bottom_halves(w)]
            return llvm.call_intrinsic(self.vt, "llvm.aarch64.sve.bfmlalb", args, [], [])
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

    def _chunks(self, lo: Index, hi: Index, body) -> None:
        """``body(start, mask)`` over [lo, hi) in vector-length steps."""
        loop_step(lo, hi, self.vector_length(), lambda i: body(i, self._tail_mask(hi, i)))

    def _tail_mask(self, hi: Index, start: ir.Value) -> ir.Value:
        """Lanes ``start + i < hi``."""
        return vector.create_mask(self.vt_mask, [arith.subi(index(hi), start)])

    @property
    def sweeps_rows(self) -> bool:
        """Whether a plain conv's rows are swept along W (``blocked.sweeps``): f32 operands and
        accumulators on SVE; ``BlockedRows`` adds its own conditions."""
        f32 = ir.F32Type.get()
        return sweeps(self.geo) and self.scalable and self.in_elt == f32 and self.acc_elt == f32

    def vector_length(self) -> ir.Value:
        """Lanes per vector, at run time when scalable."""
        return arith.muli(vector.vscale(), index(self.lanes)) if self.scalable else index(self.lanes)

    def channel_steps(self, body, full: Callable[[Callable[[], None]], None] | None = None) -> None:
        """``body(start, mask)`` over the channel dim (``self.channels`` of it): full vectors
        with no mask (``None``), then the partial last vector, if any, masked. ``full``, if
        given, emits the loop of full vectors (``full(emit_loop)``): it may dispatch around it."""
        total = self.c * self.m
        lo, hi = self.channels
        if not self.scalable and isinstance(hi, int):
            main, rem = total - total % self.lanes, total % self.lanes
            if main:
                loop_step(0, main, self.lanes, lambda c0: body(c0, None))
            if rem:
                body(index(main), self._tail_mask(total, index(main)))
            return
        vl = self.vector_length()
        if self.scalable:
            main = arith.subi(index(total), arith.remui(index(total), vl))
        else:
            main = index(total - total % self.lanes)
        split = not isinstance(hi, int)

        def full_loop() -> None:
            loop_step(
                index(lo), arith.minui(index(hi), main) if split else main, vl, lambda c0: body(c0, None)
            )

        if full is None:
            full_loop()
        else:
            full(full_loop)
        # SVE vector lengths are powers of two up to 2048 bits (MAX_VSCALE x 128), and a
        # ``vscale_range`` tells LLVM that vscale is a power of two. So channels that are a
        # multiple of MAX_VSCALE vectors of 128 bits never leave a tail, and LLVM deleted the
        # tail step we built for them; not building it saves compile time.
        if total % (self.lanes * (MAX_VSCALE if self.scalable else 1)) == 0:
            return  # every vector length divides the channels: no tail
        last = arith.cmpi(arith.CmpIPredicate.ult, main, index(hi))  # this share has the tail
        tail = scf.IfOp(last)
        with ir.InsertionPoint(tail.then_block):
            body(main, self._tail_mask(total, main))
            scf.YieldOp([])

    def split_pixels(self, part: ir.Value, parts: ir.Value) -> None:
        """Compute only the pixel tiles of share ``part`` of ``parts`` (a fused block's
        ``NAME_part``, whose pointwise stage needs every channel of a pixel): a tile belongs to
        the share holding its first pixel, in (n, outer outputs, column) order."""
        total = mul(self.n, math.prod(self.geo.out_spatial))
        self.pixels = part_range(part, parts, index(total))

    def owned(self, n: Index, o_idx: list[Index], first_col: Index, body: Callable[[], None]) -> None:
        """``body()`` for the pixel tile starting at output column ``first_col`` of row
        ``(n, o_idx)``, if this function computes it (``split_pixels``)."""
        if self.pixels is None:
            body()
            return
        pixel: Index = n
        for o, size in zip([*o_idx, first_col], self.geo.out_spatial, strict=True):
            pixel = add(mul(pixel, size), o)
        if_within(pixel, self.pixels, body)

    def split_work(self, part: ir.Value, parts: ir.Value) -> None:
        """Compute only share ``part`` of ``parts`` of a depthwise conv (with its epilogue):
        a run of bands of rows for static 2-D and 3-D register-blocked kernels
        (``blocked.part_bands``), else a run of its output channels (split_channels)."""
        bands = None
        if self.info.plain_channels_last:
            bands = part_bands(self.geo, self.c, self.in_elt.width // 8, self.sweeps_rows)
        if bands is not None:
            self.part_bands = bands
            self.row_share = part_range(part, parts, index(mul(self.n, band_units(self.geo, bands))))
            return
        self.split_channels(part, parts)

    def split_channels(self, part: ir.Value, parts: ir.Value) -> None:
        """Compute only share ``part`` of ``parts`` of the output channels (``NAME_part``): whole
        vectors of them for channels-last ops (the tail vector goes with the last one), single
        channels for channels-first ones."""
        total = self.c * self.m
        if not self.info.channels_last:
            self.channels = part_range(part, parts, index(total))
            return
        vl = self.vector_length()
        lo, hi = part_range(part, parts, arith.ceildivui(index(total), vl))
        self.channels = (arith.muli(lo, vl), arith.minui(arith.muli(hi, vl), index(total)))

    # -- strategies --------------------------------------------------------------------------------
    def fill(self, value: ir.Value) -> None:
        """Every output element = ``value`` (through the epilogue): for outputs whose every tap
        is padding, which no row visits."""
        if self.row_share is not None:
            # A NAME_part with bands of rows: a share must not overwrite other shares' rows,
            # so only the padding-only outputs are filled, by the share that holds band 0.
            if_within(0, self.row_share, lambda: self._fill_padding_only(value))
            return
        out = self.out
        rank = ir.MemRefType(out.type).rank
        lo, hi = self.channels
        if self.epilogue is None and isinstance(hi, int):
            flat = collapse_trailing(out, rank)
            splat = vector.broadcast(self.vt, value)
            self._chunks(0, sizes(flat)[0], lambda i, mask: self.write(splat, flat, [i], mask))
            return
        splat = vector.broadcast(self.vt, value)
        if self.info.channels_last:  # (positions, channels): lanes are channels
            view = collapse(out, [rank - 1 - self.info.multiplier, 1 + self.info.multiplier])
            loop(
                0,
                sizes(view)[0],
                None,
                lambda p, _: self._chunks(
                    lo,
                    hi,
                    lambda j0, mask: self.store(splat, self.channel_params(j0, mask), view, [p, j0], mask),
                ),
            )
            return
        view = collapse(out, [2, rank - 2])  # (n * c, positions): lanes run along positions

        def row(nc: Index, c: Index) -> None:
            params = self.scalar_params(c)
            size = sizes(view)[1]
            self._chunks(0, size, lambda i, mask: self.store(splat, params, view, [nc, i], mask))

        if isinstance(hi, int):
            loop(0, mul(self.n, self.c), None, lambda nc, _: row(nc, arith.remui(index(nc), index(self.c))))
        else:
            self._per_channel(lambda n, c: row(add(mul(n, self.c), c), c))

    def _fill_padding_only(self, value: ir.Value) -> None:
        """``fill`` of only the outputs that no segment holds (static channels-last sizes)."""
        splat = vector.broadcast(self.vt, value)
        self.padding_only_pixels(lambda n, idx: self.store_pixel(splat, self.out, [n, *idx]))

    def store_pixel(self, acc: ir.Value, dest: ir.Value, at: list[Index]) -> None:
        """The accumulator vector ``acc``, through each channel's epilogue, into every channel
        of the channels-last pixel ``dest[at]``."""
        self._chunks(
            0,
            self.c * self.m,
            lambda j0, m: self.store(acc, self.channel_params(j0, m), dest, [*at, j0], m),
        )

    def padding_only_pixels(self, body: Callable[[Index, list[Index]], None]) -> None:
        """``body(n, idx)`` for every output that no segment holds (static sizes): for each
        spatial dim, the slabs of its outputs whose every tap along that dim is padding (a
        pixel in two slabs comes twice)."""
        geo = self.geo
        sizes_: list[int] = [int(o) for o in geo.out_spatial]

        def slab(ranges: list[tuple[int, int]], n: Index, idx: list[Index]) -> None:
            if len(idx) == len(ranges):
                body(n, idx)
                return
            start, count = ranges[len(idx)]
            loop(start, count, None, lambda i, _: slab(ranges, n, [*idx, i]))

        for dim in range(geo.rank):
            gaps, o = [], 0
            for seg in geo.segments(dim):
                gaps.append((o, int(seg.start) - o))
                o = int(seg.start) + int(seg.count)
            gaps.append((o, sizes_[dim] - o))
            for start, count in gaps:
                if count > 0:
                    ranges = [(0, size) for size in sizes_]
                    ranges[dim] = (start, count)
                    loop(0, self.n, None, lambda n, _, r=ranges: slab(r, n, []))

    def _per_channel(self, body: Callable[[Index, Index], None]) -> None:
        """``body(n, c)`` for every batch entry and channel of ``self.channels``
        (channels-first ops)."""
        lo, hi = self.channels

        def channels(n: Index) -> None:
            if isinstance(hi, int):
                loop(lo, hi - lo, None, lambda c, _: body(n, c))
            else:
                loop_range(index(lo), index(hi), None, lambda c, _: body(n, c))

        loop(0, self.n, None, lambda n, _: channels(n))

    def run(self, init: ir.Value | None) -> None:
        """Compute every output that has an in-bounds tap, accumulating in registers from
        ``init`` (a scalar), or from the output buffer's contents when ``init`` is None."""
        if self.row_map is not None and not self.info.plain_channels_last:
            raise InternalError(f"{self.op.name} at {self.op.location}: rows through a row map")
        if self.info.plain_channels_last:
            if init is None:
                rows = BlockedRows(self, from_output=True)
            else:
                rows = BlockedRows(self, None if is_zero_constant(init) else init)
            loop(0, self.n, None, lambda n, _: rows.emit(n, self.row_share, self.part_bands))
            return
        if self.info.channels_last:
            loop(0, self.n, None, lambda n, _: output_rows(self.geo, self._row_last(n, init)))
            return

        def per_channel(n: Index, c: Index) -> None:
            output_rows(self.geo, self._row_first(n, c, init, self.scalar_params(c)))

        self._per_channel(per_channel)

    def _start(
        self, init: ir.Value | None, dest: ir.Value, at: list[Index], mask: ir.Value | None
    ) -> ir.Value:
        """An output vector's accumulator before its first tap."""
        if init is None:
            return self.read(self.vt, dest, at, mask)
        return vector.broadcast(self.vt, init)

    def _row_first(self, n: Index, c: Index, init: ir.Value | None, params: ChannelParams):
        """Each (n, c, outer outputs) row of W outputs, in vector chunks along W; each chunk
        accumulates every tap in registers and is stored once."""
        geo = self.geo

        def row(combo, o_idx: list[Index]) -> None:
            stride_idx = self._stride_offsets()
            for seg in w_segments(geo):

                def chunk(ow: ir.Value, mask: ir.Value, seg=seg) -> None:
                    y_at = [n, c, *o_idx, ow]
                    start = self._start(init, self.out, y_at, mask)
                    acc_v = self._chunk_first(n, c, combo, o_idx, seg, ow, mask, stride_idx, start)
                    self.store(acc_v, params, self.out, y_at, mask)

                self._chunks(seg.start, add(seg.start, seg.count), chunk)

        return row

    def row_first_fused(self, n: Index, tile_cols: int, scratch: ir.Value, consume):
        """``_row_first`` into a fused block's scratch (channels x tile columns): each row in
        tiles of at most ``tile_cols`` columns, every channel of a tile, then
        ``consume(n, o_idx, first_col, count)`` (the pointwise GEMM)."""
        geo = self.geo

        def row(combo, o_idx: list[Index]) -> None:
            stride_idx = self._stride_offsets()
            for seg in w_segments(geo):

                def tile(t0: Index, count: int, seg=seg) -> None:
                    def channel(c: Index, _: None) -> None:
                        params = self.scalar_params(c)

                        def chunk(ow: ir.Value, mask: ir.Value) -> None:
                            zero = self.zero_vector(self.vt)
                            acc_v = self._chunk_first(n, c, combo, o_idx, seg, ow, mask, stride_idx, zero)
                            self.store(acc_v, params, scratch, [c, arith.subi(ow, index(t0))], mask)

                        self._chunks(t0, affine(t0, 1, 0, 1, count), chunk)

                    def body() -> None:
                        loop(0, self.c, None, channel)
                        consume(n, o_idx, t0, count)

                    self.owned(n, o_idx, t0, body)

                tiles(seg, tile_cols, tile)

        return row

    def _stride_offsets(self) -> ir.Value | None:
        """Gather offsets of a strided W row (every s-th element), or None at stride 1."""
        s = self.geo.strides[-1]
        if s == 1:
            return None
        strided = arith.muli(vector.step(self.vt_idx), vector.broadcast(self.vt_idx, index(s)))
        return arith.index_cast(self.vt_off, strided)

    def _chunk_first(
        self, n: Index, c: Index, combo, o_idx: list[Index], seg, ow: ir.Value, mask, stride_idx, start
    ) -> ir.Value:
        """``start`` plus every tap of a chunk of W outputs from ``ow`` of channel ``c``.

        A merged border segment (a run-time W) has a different tap range in each lane: every
        tap is a gather whose mask also drops the lanes reading padding."""
        geo = self.geo
        w = geo.rank - 1
        merged = seg.kmin > seg.kmax
        if merged:
            vi = self.vt_idx
            s, d, lo = geo.strides[w], geo.dilations[w], geo.pad_lo[w]
            cols0 = arith.addi(vector.step(vi), vector.broadcast(vi, index(ow)))
            if s != 1:
                cols0 = arith.muli(cols0, vector.broadcast(vi, index(s)))
            cols0 = arith.subi(cols0, vector.broadcast(vi, index(lo)))
            zero_i, width = vector.broadcast(vi, index(0)), vector.broadcast(vi, index(geo.in_spatial[w]))
            seg = dataclasses.replace(seg, kmin=0, kmax=geo.kernel[w] - 1)

        def one(k: Index, k_idx: list[Index], acc_v: ir.Value) -> ir.Value:
            outer_in = geo.outer_inputs(o_idx, k_idx)
            at = [index(i) for i in (n, c, *outer_in, geo.input_index(w, ow, k))]
            if merged:
                cols = arith.addi(cols0, vector.broadcast(self.vt_idx, index(mul(k, d))))
                ok = arith.andi(
                    arith.cmpi(arith.CmpIPredicate.sge, cols, zero_i),
                    arith.cmpi(arith.CmpIPredicate.slt, cols, width),
                )
                ok = arith.andi(ok, mask)
                row = [index(i) for i in (n, c, *outer_in, 0)]
                offsets = arith.index_cast(self.vt_off, cols)
                x = vector.gather(self.vt_in, self.input, row, offsets, ok, self.zero_vector(self.vt_in))
            elif stride_idx is None:
                x = self.read(self.vt_in, self.input, at, mask)
            else:
                x = vector.gather(self.vt_in, self.input, at, stride_idx, mask, self.zero_vector(self.vt_in))
                x = self.extend(x)
            tap = self.extend(memref.load(self.filter, [index(c), *(index(i) for i in k_idx), index(k)]))
            return self.mac(acc_v, x, vector.broadcast(self.vt_in if self.bfmlal else self.vt, tap))

        def taps(k_idx: list[Index], accs: list[ir.Value]) -> list[ir.Value]:
            return [over_w_taps(seg, accs[0], lambda k, a: one(k, k_idx, a))]

        (acc_v,) = accumulate_outer_taps(geo, combo, o_idx, [start], taps)
        return acc_v

    def zero_vector(self, vt: ir.VectorType) -> ir.Value:
        elt = vt.element_type
        zero = ir.IntegerAttr.get(elt, 0) if isinstance(elt, ir.IntegerType) else ir.FloatAttr.get(elt, 0.0)
        return arith.constant(vt, ir.DenseElementsAttr.get_splat(vt, zero))

    def _row_last(self, n: Index, init: ir.Value | None):
        """Each (n, outer outputs) row: per output column, the (c, m) channels in chunks, each
        accumulating every tap in registers and stored once.

        With a multiplier, filter and output are viewed with (c, m) collapsed into one
        contiguous dim; lane j reads input channel j / M.
        """
        out = collapse_trailing(self.out, 2) if self.info.multiplier else self.out

        def row(combo, o_idx: list[Index]) -> None:
            for seg in w_segments(self.geo):
                loop(
                    seg.start,
                    seg.count,
                    None,
                    lambda ow, _, seg=seg: self._column_last(
                        n, combo, o_idx, seg, ow, init, out, [n, *o_idx, ow]
                    ),
                )

        return row

    def row_last_fused(self, n: Index, tile_cols: int, scratch: ir.Value, consume):
        """``_row_last`` into a fused block's scratch: each row in tiles of at most
        ``tile_cols`` columns, every channel of a tile to ``scratch``, then
        ``consume(n, o_idx, first_col, count)`` (the pointwise GEMM)."""

        def row(combo, o_idx: list[Index]) -> None:
            for seg in w_segments(self.geo):

                def tile(t0: Index, count: int, seg=seg) -> None:
                    def column(i: Index, _: None) -> None:
                        ow = affine(t0, 1, i, 1, 0)
                        self._column_last(n, combo, o_idx, seg, ow, None, scratch, [i], zero_start=True)

                    def body() -> None:
                        loop(0, count, None, column)
                        consume(n, o_idx, t0, count)

                    self.owned(n, o_idx, t0, body)

                tiles(seg, tile_cols, tile)

        return row

    def _column_last(
        self,
        n: Index,
        combo,
        o_idx: list[Index],
        seg,
        ow: Index,
        init: ir.Value | None,
        dest: ir.Value,
        dest_at: list[Index],
        zero_start: bool = False,
    ) -> None:
        """The (c, m) channels of output column ``ow``, in chunks, stored to ``dest`` at
        ``dest_at + [channel]`` through the epilogue. Accumulators start from zero
        (``zero_start``), the scalar ``init``, or the destination's contents."""
        geo = self.geo
        w = geo.rank - 1
        mult = self.info.multiplier
        flt = self.filter_cm

        def chunk(j0: ir.Value, mask: ir.Value) -> None:
            gather_idx = None
            if mult:
                lanes = arith.addi(vector.step(self.vt_idx), vector.broadcast(self.vt_idx, j0))
                channel = arith.divui(lanes, vector.broadcast(self.vt_idx, index(self.m)))
                gather_idx = arith.index_cast(self.vt_off, channel)

            def tap(k: Index, k_idx: list[Index], acc_v: ir.Value) -> ir.Value:
                """``acc_v`` plus W tap ``k`` at outer taps ``k_idx``."""
                outer_in = geo.outer_inputs(o_idx, k_idx)
                col = geo.input_index(w, ow, k)
                if gather_idx is None:
                    x = self.read(self.vt_in, self.input, [n, *outer_in, col, j0], mask)
                else:
                    at = [index(i) for i in (n, *outer_in, col, 0)]
                    x = vector.gather(
                        self.vt_in, self.input, at, gather_idx, mask, self.zero_vector(self.vt_in)
                    )
                    x = self.extend(x)
                wv = self.read(self.vt_in, flt, [*k_idx, k, j0], mask)
                x = self._widen(x, self.zps[0] if self.zps else None)
                wv = self._widen(wv, self.zps[1] if self.zps else None)
                acc_v = self.mac(acc_v, x, wv)
                return acc_v

            def taps(k_idx: list[Index], accs: list[ir.Value]) -> list[ir.Value]:
                def bounds() -> tuple[ir.Value, ir.Value]:  # a wide border: this column's taps
                    return tap_bounds(geo, w, index(ow))

                return [over_w_taps(seg, accs[0], lambda k, a: tap(k, k_idx, a), bounds)]

            at = [*dest_at, j0]
            start = self.zero_vector(self.vt) if zero_start else self._start(init, dest, at, mask)
            (acc_v,) = accumulate_outer_taps(geo, combo, o_idx, [start], taps)
            self.store(acc_v, self.channel_params(j0, mask), dest, at, mask)

        self._chunks(*self.channels, chunk)


def part_range(part: ir.Value, parts: ir.Value, units: ir.Value) -> tuple[ir.Value, ir.Value]:
    """[lo, hi) of ``units`` work units for share ``part`` (i32) of ``parts`` (i32): the shares
    are contiguous, in order, differ by at most one unit, and together cover every unit once.
    An invalid pair (``parts < 1``, ``part`` outside ``[0, parts)``) gets an empty range."""
    idx = ir.IndexType.get()
    p, n = arith.index_cast(idx, part), arith.index_cast(idx, parts)  # sign-extended
    zero, one = index(0), index(1)
    valid = arith.andi(
        arith.cmpi(arith.CmpIPredicate.sge, n, one),
        arith.andi(arith.cmpi(arith.CmpIPredicate.sge, p, zero), arith.cmpi(arith.CmpIPredicate.slt, p, n)),
    )
    p, n = arith.select(valid, p, zero), arith.select(valid, n, one)
    lo = arith.divui(arith.muli(p, units), n)
    hi = arith.divui(arith.muli(arith.addi(p, one), units), n)
    return lo, arith.select(valid, hi, lo)


def part_args(op: ir.Operation) -> tuple[ir.Value, ir.Value] | None:
    """``(part, parts)`` of the ``NAME_part`` function holding ``op`` (its last two
    arguments), or None in any other function."""
    parent = enclosing_func(op)
    if parent is None or PART_ATTR not in parent.attributes:
        return None
    args = parent.regions[0].blocks[0].arguments
    return args[len(args) - 2], args[len(args) - 1]


def sizes(buf: ir.Value) -> list[Index]:
    """A memref's dims: ints, or ``memref.dim`` values where the type does not know them."""
    t = ir.MemRefType(buf.type)
    return [memref.dim(buf, index(i)) if t.is_dynamic_dim(i) else v for i, v in enumerate(t.shape)]


def _pad_high(op: ir.Operation) -> list[int]:
    """The high padding of a conv's foldable ``tensor.pad`` input (zeros without one)."""
    value = op.operands[0]
    rank = ir.RankedTensorType(value.type).rank
    pad = defining_op(value)
    if pad is None or pad.name != "tensor.pad":
        return [0] * rank
    return [int(v) for v in pad.opview.static_high]


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


def multi_row_tiles(
    geo: ConvGeometry, channels: int, elt_bytes: int, scalable: bool, f32: bool, weight_bytes: int = 0
) -> int:
    """Output rows per tile of a fused 2-D block's interior rows (those that read no padding
    row): as many whole rows as the scratch holds, at least 2; else 1 (row by row). The
    scratch is ``SCRATCH_BYTES``, or ``ROWS_SCRATCH_BYTES`` where the pointwise weights
    (``weight_bytes``) would not fit in L1 beside the smaller one and either the filter has
    several rows or the larger tile needs fewer GEMM blocks per pixel (``LANE_PIXELS`` at most
    per block).

    Such a tile is the depthwise conv of its rows, computed by the kernel's own row code
    (row sweeps, taps loaded once per channel step and tile) into the scratch, then one GEMM
    over all its pixels. Row by row, each row paid its channel steps' setup and its border
    columns' tap loops again: MobileNetV1 block 5's depthwise part cost 1.5x its depthwise
    kernel. With the larger scratch, MobileNetV1's 14 x 512 block runs in pairs of rows
    (0.5 % fewer instructions than row by row), its 14 x 256 block in 4 rows, not 2. A 1-row
    filter shares no tap rows; its tiles gain from the larger scratch only where they take
    fewer GEMM blocks per pixel (with blocks of at most 8 pixels, 56 pixels of 14-wide rows in
    7 blocks, not 28 in 4: 1.8 % fewer instructions for MobileNetV1's 14 x 256 1x1 conv), and
    lose where they do not (0.1-0.5 % more). f32 on SVE, static sizes (where it was measured)."""
    if geo.rank != 2 or not (scalable and f32) or geo.runtime_sizes:
        return 1
    width = geo.out_spatial[1]
    rows = tile_pixels(channels, elt_bytes) // width
    if (budget := scratch_budget(weight_bytes)) > SCRATCH_BYTES:
        more = tile_pixels(channels, elt_bytes, budget) // width
        if geo.kernel[0] > 1 or _fewer_blocks(more * width, rows * width):
            rows = more
    return rows if rows >= 2 else 1


def _whole_blocks(tile: int, width: Index) -> int:
    """Pixels per tile of a row of ``width``: ``tile`` rounded down to whole GEMM blocks of
    ``LANE_PIXELS`` where the row is cut into tiles anyway (a row that fits the tile keeps one
    tile). The Conformer block's 128-pixel rows in tiles of 30 (3 blocks of 10), not 32 (4 of
    8): 1.8 % fewer instructions, fused and unfused."""
    rounded = tile - tile % LANE_PIXELS
    if not rounded or not isinstance(width, int) or width <= tile and width > rounded:
        return tile
    return rounded


def _fewer_blocks(larger: int, smaller: int) -> bool:
    """Whether a tile of ``larger`` pixels takes fewer GEMM blocks per pixel than one of
    ``smaller`` (f32 on SVE: ``LANE_PIXELS`` per block at most)."""
    if not larger or not smaller:
        return False
    return gemm_blocks(larger) * smaller < gemm_blocks(smaller) * larger


def fused_tile_pixels(
    geo: ConvGeometry, channels: int, elt_bytes: int, scalable: bool, f32: bool, weight_bytes: int
) -> int:
    """Pixels of a plain channels-last fused block's scratch: a row tile's, or a multi-row
    tile's if that is larger (it may pass ``SCRATCH_BYTES``)."""
    rows = multi_row_tiles(geo, channels, elt_bytes, scalable, f32, weight_bytes)
    return max(tile_pixels(channels, elt_bytes), rows * geo.out_spatial[-1] if rows > 1 else 0)


@dataclass(frozen=True)
class FusedTiles:
    """How a channels-last block's depthwise output is tiled for its pointwise GEMM
    (``fused_tiles``): ``_emit_fused_block`` builds it, the header states its scratch."""

    tile: int  # pixels per tile of a row (row segments)
    held: int  # pixels the scratch holds: a multi-row tile's where that is larger
    rows: int  # output rows per tile of the interior rows (``multi_row_tiles``; 1: row by row)
    whole: int  # channels per chunk where NAME runs the whole image as one tile (else 0)

    def scratch_bytes(self, geo: ConvGeometry, channels: int, elt_bytes: int) -> int:
        """The larger of NAME's and NAME_part's scratch (NAME_part always goes in rows)."""
        rows = self.held * channels * elt_bytes
        return max(rows, whole_image_bytes(geo, self.whole, elt_bytes)) if self.whole else rows


def fused_tiles(
    geo: ConvGeometry | None,
    channels: int,
    elt_bytes: int,
    scalable: bool,
    f32: bool,
    cout: int,
    plain: bool,
    partial_sums: bool,
) -> FusedTiles:
    """The tiling of a fused channels-last block. Only ``plain`` blocks (a plain
    channels-last op whose every output reads some input; ``geo`` may be None otherwise)
    take multi-row and whole-image tiles; the whole image also needs ``partial_sums`` (its
    chunks' partial sums kept in the output, which must not round them)."""
    tile = tile_pixels(channels, elt_bytes)
    if not plain:
        return FusedTiles(tile, tile, 1, 0)
    args = (geo, channels, elt_bytes, scalable, f32, channels * cout * elt_bytes)
    whole = whole_image(geo, channels, elt_bytes, scalable, f32, cout) if partial_sums else 0
    if f32 and scalable:  # within the scratch: the tile only shrinks
        tile = _whole_blocks(tile, geo.out_spatial[-1])
    return FusedTiles(tile, fused_tile_pixels(*args), multi_row_tiles(*args), whole)


def whole_image(
    geo: ConvGeometry, channels: int, elt_bytes: int, scalable: bool, f32: bool, cout: int
) -> int:
    """Channels per chunk of a plain channels-last 2-D block computed as one tile of the whole
    image, or 0: per chunk, a dense copy of its input, the depthwise conv of every output
    pixel into the scratch, then one pointwise GEMM over them all, adding the chunk's share
    of the reduction to the output (``PointwiseGemm``'s ``first`` and ``last``). Where that
    makes at least a fifth fewer GEMM blocks than pairs of rows and the chunks are whole
    vectors at every SVE length that divide the channels (or all the channels): MobileNetV1's
    7 x 7 x 1024 block, 49 pixels in 5 blocks where pairs of rows of 7 make 7, in 8 chunks
    of 128 (50,176 bytes with the input copies). The scratch may take ``ROWS_SCRATCH_BYTES``
    where the pointwise weights do not fit in L1 beside the smaller one (as
    ``multi_row_tiles``). f32 on SVE, static sizes."""
    if geo.rank != 2 or not (scalable and f32) or geo.runtime_sizes or geo.out_spatial[1] > MAX_TILE_COLS:
        return 0
    height, width = geo.out_spatial
    pixels = height * width
    budget = scratch_budget(channels * cout * elt_bytes)
    per_channel = whole_image_bytes(geo, 1, elt_bytes)
    if per_channel * min(channels, MIN_CHUNK) > budget:
        return 0
    chunk = chunk_channels(channels, budget // per_channel, elt_bytes)
    if chunk < channels and (chunk % widest_lanes(elt_bytes) or channels % chunk):
        return 0
    pairs = height // 2 * gemm_blocks(2 * width) + height % 2 * gemm_blocks(width)
    return chunk if 5 * gemm_blocks(pixels) <= 4 * pairs else 0


def whole_image_bytes(geo: ConvGeometry, chunk: int, elt_bytes: int) -> int:
    """Scratch of a whole-image tile of ``chunk`` channels: its depthwise output and the copy
    of its input."""
    return (math.prod(geo.out_spatial) + math.prod(geo.in_spatial)) * chunk * elt_bytes


def _emit_whole_image(
    op: ir.Operation, em: _Emitter, pw: FusedPointwise, shape: VectorShape, chunk: int
) -> None:
    """A plain block as one tile of the whole image per chunk of channels (``whole_image``)."""
    geo = em.geo
    height, width = geo.out_spatial
    pixels, channels = height * width, em.c
    i8 = ir.IntegerType.get_signless(8)
    flat = _entry_alloca(op, [pixels * chunk * em.acc_elt.width // 8], i8)
    # The depthwise code reads a dense input (its rows as one run): the chunk's channels of the
    # input are copied to a dense buffer first.
    in_pixels = math.prod(geo.in_spatial)
    copy = _entry_alloca(op, [in_pixels * chunk * em.acc_elt.width // 8], i8)
    in_flat = collapse(em.input, [1, 2, 1])  # (N, H x W, C)
    target = rows_target(em, pw.residual)

    def part(n: Index, c0: Index, ct: int) -> None:
        first, last = chunk_flags(channels, chunk, c0, ct)
        view = memref.view(ir.MemRefType.get([1, *geo.in_spatial, ct], em.in_elt), copy, index(0), [])
        dense = collapse(view, [1, 2, 1])

        def pixel(q: Index, _: None) -> None:
            def part_of(c: ir.Value, mask: ir.Value) -> None:
                v = em.read(em.vt_in, in_flat, [n, q, arith.addi(index(c0), c)], mask)
                em.write(v, dense, [0, q, c], mask)

            em._chunks(0, ct, part_of)

        loop(0, in_pixels, None, pixel)
        flt = subview(em.filter, [0, 0, c0], [*geo.kernel, ct])
        epi = chunk_epilogue(em.epilogue, c0, ct)
        dest = memref.view(ir.MemRefType.get([1, height, width, ct], em.acc_elt), flat, index(0), [])
        _Emitter(op, em.info, shape, Buffers(view, flt, dest), em.pad_lo, epi).run(zero_constant(em.acc_elt))
        PointwiseGemm(target, pw, collapse(dest, [3, 1]), 0, c0, first, last)(n, [], 0, pixels)

    loop(0, em.n, None, lambda n, _: for_chunks(channels, chunk, True, lambda c0, ct: part(n, c0, ct)))


def _emit_fused_block(
    op: ir.Operation, em: _Emitter, pw: FusedPointwise, fill: ir.Value, shape: VectorShape
) -> None:
    """Depthwise tiles into a stack scratch, each consumed at once by the pointwise GEMM.
    Outputs that read only padding, which no row visits, get their own pass at the end."""
    if not is_zero_constant(fill):
        raise InternalError(f"cannot fuse a pointwise conv after {op.name} at {op.location}")
    covered = covers_every_output(em.geo)
    if not em.info.channels_last:  # scratch (channels x pixels), pixels the GEMM's vector dim
        tile = tile_pixels(em.c, em.acc_elt.width // 8)
        scratch = _entry_alloca(op, [em.c, tile], em.acc_elt)
        gemm_first = PointwiseGemmFirst(em, pw, scratch)
        loop(
            0, em.n, None, lambda n, _: output_rows(em.geo, em.row_first_fused(n, tile, scratch, gemm_first))
        )
        if not covered:
            _fused_padding_only(em, scratch, gemm_first)
        return
    # The scratch holds the depthwise layer's results: int8 after a requantizing epilogue.
    requantized = em.epilogue is not None and em.epilogue.epilogue.requantize
    elt = ir.IntegerType.get_signless(8) if requantized else em.acc_elt
    channels = em.c * em.m
    f32 = isinstance(elt, ir.F32Type)  # int8 after a requantizing epilogue: row by row
    # Tiles of several rows or of the whole image take a conv whose every output reads some
    # input; others go row by row, then the padding-only pass. The whole image not for a
    # rounded output (the chunks' partial sums stay in the output buffer between chunks: a
    # bf16 block's must not be rounded there), nor for NAME_part (it shares out pixels).
    partial_sums = ir.MemRefType(em.out.type).element_type == elt
    plain = em.info.plain_channels_last and covered
    tiles = fused_tiles(em.geo, channels, elt.width // 8, em.scalable, f32, pw.cout, plain, partial_sums)
    if tiles.whole and em.pixels is None:
        _emit_whole_image(op, em, pw, shape, tiles.whole)
        return
    tile, per_tile = tiles.tile, tiles.rows
    scratch = _entry_alloca(op, [tiles.held, channels], elt)
    input_zp = em.epilogue.epilogue.output_zp if requantized else 0
    gemm = PointwiseGemm(em, pw, scratch, input_zp)
    if em.info.plain_channels_last:
        rows = BlockedRows(em)
        interior = whole = None
        if per_tile > 1:
            interior, whole = _multi_row_emitter(op, em, pw, scratch, shape, per_tile)
        if whole is not None:
            loop(0, em.n, None, lambda n, _: whole(n))
        else:
            loop(0, em.n, None, lambda n, _: rows.emit_fused(n, tile, scratch, gemm, interior))
    else:
        loop(0, em.n, None, lambda n, _: output_rows(em.geo, em.row_last_fused(n, tile, scratch, gemm)))
    if not covered:
        _fused_padding_only(em, scratch, gemm)


def _fused_padding_only(em: _Emitter, scratch: ir.Value, consume: Callable) -> None:
    """The block's outputs whose every depthwise tap is padding (no row visits them): each
    pixel's depthwise result is the epilogue of a zero accumulator (act(bias), or the
    requantized bias), written to the scratch's first pixel, then ``consume(n, o_idx, col,
    1)`` (the pointwise GEMM) for that pixel (``padding_only_pixels``; a pixel in two slabs
    is computed twice, the same way); a NAME_part computes the pixels it owns (``owned``)."""
    splat = vector.broadcast(em.vt, zero_constant(em.acc_elt))

    def pixel(n: Index, idx: list[Index]) -> None:
        def body() -> None:
            if em.info.channels_last:  # scratch (pixels, channels)
                em.store_pixel(splat, scratch, [0])
            else:  # scratch (channels, pixels): lane 0 of each channel's column
                one = vector.create_mask(em.vt_mask, [index(1)])

                def column(c: Index, _: None) -> None:
                    em.store(splat, em.scalar_params(c), scratch, [c, 0], one)

                loop(0, em.c * em.m, None, column)
            consume(n, idx[:-1], idx[-1], 1)

        em.owned(n, idx[:-1], idx[-1], body)

    em.padding_only_pixels(pixel)


def _multi_row_emitter(
    op: ir.Operation, em: _Emitter, pw: FusedPointwise, scratch: ir.Value, shape: VectorShape, per_tile: int
) -> tuple[Callable[[Index, int, int], None], Callable[[Index], None] | None]:
    """``(interior, whole)``. ``interior(n, first, count)``: output rows [first, first + count)
    of batch entry ``n``, none of which reads a padding row, in tiles of ``per_tile`` rows
    (``multi_row_tiles``). ``whole(n)``: every output row of ``n`` in such tiles, the first
    and last also holding the border rows that read padding rows (``edge_tiles``), or None
    where the borders do not fit those tiles: they then go row by row (``BlockedRows``)."""
    geo = em.geo
    s, k, d, pad = geo.strides[0], geo.kernel[0], geo.dilations[0], geo.pad_lo[0]
    out_w, in_h, in_w, channels = geo.out_spatial[1], geo.in_spatial[0], geo.in_spatial[1], em.c
    flat_t = ir.MemRefType(scratch.type)
    gemm = PointwiseGemm(rows_target(em, pw.residual), pw, scratch)
    lay_in = em.info.input_layout

    def tile(n: Index, o: Index, rows: int) -> None:
        first_in = affine(o, s, 0, 0, -pad)
        rows_in = (rows - 1) * s + (k - 1) * d + 1
        clip = 0
        if isinstance(first_in, int):  # a static tile: its input rows clipped to the image
            clip = max(0, -first_in)
            rows_in = min(in_h, first_in + rows_in) - (first_in + clip)
        pad_lo = [clip if ch == "h" else geo.pad_lo[1] if ch == "w" else 0 for ch in lay_in]

        def body() -> None:
            view = memref.subview(
                em.input,
                [index(n), index(affine(first_in, 1, 0, 0, clip)), 0, 0],
                [1, rows_in, in_w, channels],
                [1] * 4,
            )
            part = memref.subview(scratch, [0, 0], [rows * out_w, channels], [1, 1])
            dest_t = ir.MemRefType.get([1, rows, out_w, channels], flat_t.element_type)
            dest = memref.expand_shape(dest_t, part, [[0, 1, 2], [3]], [], [1, rows, out_w, channels])
            sub = _Emitter(op, em.info, shape, Buffers(view, em.filter, dest), pad_lo, em.epilogue)
            sub.run(zero_constant(em.acc_elt))
            gemm(n, [], affine(o, out_w, 0, 0, 0), rows * out_w)

        em.owned(n, [o], 0, body)

    def interior(n: Index, first: int, count: int) -> None:
        full, rest = divmod(count, per_tile)
        if full:
            loop_step(first, first + full * per_tile, per_tile, lambda o: tile(n, o, per_tile), unroll=False)
        if rest:
            tile(n, first + full * per_tile, rest)

    edges = edge_tiles(geo, per_tile, pw.cout)
    if edges is None:
        return interior, None
    top, bottom = edges

    def whole(n: Index) -> None:
        tile(n, 0, top)
        interior(n, top, geo.out_spatial[0] - top - bottom)
        tile(n, geo.out_spatial[0] - bottom, bottom)

    return interior, whole


# Output channels from which a block's first and last row tiles hold its border rows: the
# GEMM blocks they save grow with COUT, the border code of a tile costs more than that of a
# row. Fused instructions (MobileNetV1 and V2 blocks, 4-row and 2-row tiles of 14-wide rows):
# -0.5 to -0.6 % at COUT = 512 and 128, -0.2 % at 256, within 0.2 % at 64, +1.6 % at 16.
EDGE_TILE_MIN_COUT = 128


def edge_tiles(geo: ConvGeometry, per_tile: int, cout: int) -> tuple[int, int] | None:
    """Rows of the first and the last tile when they can hold the border rows (those reading
    a padding row) with the rows between in whole tiles of ``per_tile``, and that makes fewer
    GEMM blocks; else None.

    Row by row, a border row of 14 pixels ran GEMM blocks of 7 + 7 where a pair of rows runs
    10 + 9 + 9: MobileNetV1's 14 x 14 x 512 block ran 115,000 more instructions in its GEMM
    loops (0.65 %) than its unfused 1x1 kernel, whose tiles are all pairs."""
    if cout < EDGE_TILE_MIN_COUT:
        return None
    segs = geo.segments(0)
    full = [g for g in segs if (g.kmin, g.kmax) == (0, geo.kernel[0] - 1)]
    out_h = geo.out_spatial[0]
    if not full or sum(g.count for g in segs) != out_h:
        return None
    head = full[0].start
    tail = out_h - (full[-1].start + full[-1].count)
    if head == 0 and tail == 0:
        return None  # no border rows: the interior tiles are all
    top = per_tile
    rest = out_h - top
    bottom = rest % per_tile or per_tile
    if rest <= 0 or head > top or tail > bottom:
        return None
    width = geo.out_spatial[1]

    def blocks(rows: int) -> int:
        return gemm_blocks(rows * width) if rows else 0

    inner = out_h - head - tail
    before = (head + tail) * blocks(1) + inner // per_tile * blocks(per_tile) + blocks(inner % per_tile)
    after = blocks(top) + (rest - bottom) // per_tile * blocks(per_tile) + blocks(bottom)
    return (top, bottom) if after < before else None


def _emit_expand_block(
    op: ir.Operation,
    em: _Emitter,
    ex: FusedExpand,
    pw: FusedPointwise | None,
    fill: ir.Value,
    shape: VectorShape,
) -> None:
    """A block with an expand stage (``expand``): the expansion computed tile by tile into a
    stack window that the depthwise code reads as a valid conv."""
    if not is_zero_constant(fill):
        raise InternalError(f"cannot fuse an expand conv before {op.name} at {op.location}")
    zeros = [0] * len(em.info.input_layout)

    def make_emitter(
        inp: ir.Value,
        flt: ir.Value,
        out: ir.Value,
        epi: FusedEpilogue | None,
        padded: bool = False,
        row_map: Callable[[Index], Index] | None = None,
    ) -> _Emitter:
        made = _Emitter(op, em.info, shape, Buffers(inp, flt, out), em.pad_lo if padded else zeros, epi)
        made.row_map = row_map
        return made

    def gemm(em_, pw_, scratch, k0, first, last) -> Callable[[Index, list[Index], Index, int], None]:
        # In a function of its own where the expand GEMM is one (``expand.outlines``).
        inline = PointwiseGemm(em_, pw_, scratch, 0, k0, first, last)

        def call(n: Index, o_idx: list[Index], t0: Index, count: int) -> None:
            with outlined("pw", outlines(ex)):
                inline(n, o_idx, t0, count)

        return call

    block = ExpandedBlock(
        em, op, ex, em.epilogue, pw, make_emitter, lambda sh, elt: _entry_alloca(op, sh, elt), gemm
    )
    block.emit()


def _fused_expand(value: ir.Value) -> tuple[list[ir.Operation], FusedExpand] | None:
    """The payload's expand chain producing the conv input ``value`` (collapse, tagged
    matmul, tagged epilogue, expand_shape): its ops and what to emit."""
    reshape = defining_op(value)
    if reshape is None or reshape.name != "tensor.expand_shape":
        return None
    generic = defining_op(reshape.operands[0])
    if generic is None or EXPAND_EPILOGUE_ATTR not in generic.attributes:
        return None
    mm = defining_op(generic.operands[0])
    if mm is None or EXPAND_ATTR not in mm.attributes:
        return None
    collapse = defining_op(mm.operands[0])
    if collapse is None or collapse.name != "tensor.collapse_shape":
        return None
    epi = epilogue_from_attr(generic.attributes[EXPAND_EPILOGUE_ATTR])
    bias = _buffer_of(generic.operands[1]) if epi.bias else None
    fused = FusedExpand(_buffer_of(collapse.operands[0]), _buffer_of(mm.operands[1]), bias, epi)
    return [reshape, generic, mm, collapse], fused


def _fused_epilogue(op: ir.Operation) -> tuple[ir.Operation, FusedEpilogue, ir.Value | None] | None:
    """The payload's epilogue ``linalg.generic`` if it is the conv's only user, what it
    applies, and the buffer of its residual (the block's input), if it adds one."""
    uses = list(op.results[0].uses)
    if len(uses) != 1 or uses[0].owner.operation.name != "linalg.generic":
        return None
    generic = uses[0].owner.operation
    if EPILOGUE_ATTR not in generic.attributes:
        return None
    attr = generic.attributes[EPILOGUE_ATTR]
    epi = epilogue_from_attr(attr)
    params = list(generic.operands)[1:-1]
    bias = _buffer_of(params.pop(0)) if epi.bias else None
    scale = _buffer_of(params.pop(0)) if epi.requantize else None
    residual = _residual_buffer(params.pop(0)) if residual_from_attr(attr) else None
    return generic, FusedEpilogue(epi, bias, scale), residual


def _residual_buffer(value: ir.Value) -> ir.Value:
    """The block input's memref: through the payload's ``tensor.expand_shape`` of a
    multiplier op's N..x(C*M) input to the output's N..xCxM (the rewrite makes its own
    view of the memref)."""
    owner = defining_op(value)
    if owner is not None and owner.name == "tensor.expand_shape":
        value = owner.operands[0]
    return _buffer_of(value)


def _single_user(value: ir.Value) -> ir.Operation | None:
    uses = list(value.uses)
    return uses[0].owner.operation if len(uses) == 1 else None


def _fused_pointwise(value: ir.Value) -> tuple[list[ir.Operation], FusedPointwise, ir.Value] | None:
    """The payload's pointwise chain on ``value`` (collapse, tagged matmul, tagged epilogue,
    expand): the ops to erase, what to emit, and the chain's result."""
    collapse = _single_user(value)
    if collapse is None or collapse.name != "tensor.collapse_shape":
        return None
    mm = _single_user(collapse.results[0])
    if mm is None or mm.name not in ("linalg.matmul", "linalg.quantized_matmul", "linalg.generic"):
        return None
    if POINTWISE_ATTR not in mm.attributes:
        return None
    generic = _single_user(mm.results[0])
    expand = _single_user(generic.results[0]) if generic is not None else None
    if generic is None or PW_EPILOGUE_ATTR not in generic.attributes or expand is None:
        return None
    attr = generic.attributes[PW_EPILOGUE_ATTR]
    epi = epilogue_from_attr(attr)
    residual = residual_from_attr(attr)
    params = list(generic.operands)[1:-1]
    bias = _buffer_of(params.pop(0)) if epi.bias else None
    scale = _buffer_of(params.pop(0)) if epi.requantize else None
    fused = FusedPointwise(
        _buffer_of(mm.operands[1]), bias, epi, residual, scale, channels_first=mm.name == "linalg.generic"
    )
    return [expand, generic, mm, collapse], fused, expand.results[0]


def _entry_alloca(op: ir.Operation, shape: list[int], elt: ir.Type) -> ir.Value:
    """A stack buffer allocated once, at the start of the enclosing function."""
    fn = op
    while fn.name != "func.func":
        fn = fn.parent
    entry = fn.regions[0].blocks[0]
    with ir.InsertionPoint.at_block_begin(entry), op.location:
        i64 = ir.IntegerType.get_signless(64)
        return memref.alloca(ir.MemRefType.get(shape, elt), [], [], alignment=ir.IntegerAttr.get(i64, 64))


def vectorize_rows(
    op: ir.Operation, source: ir.Value, pad_lo: list[int], shape: VectorShape
) -> ir.Value | None:
    """Emit vector IR for ``op`` before it, writing a buffer in place.

    When the op's only use materializes it into a memref (a dwmlir kernel), that memref is
    written directly, the materialization erased and ``None`` returned. An epilogue
    ``linalg.generic`` between the two is fused: applied to the accumulators before their
    one store, and erased. Otherwise a new buffer is written and returned as a tensor to
    replace the op's result.
    """
    info = all_depthwise_ops()[op.name]
    init = op.operands[len(op.operands) - 1]
    with ir.InsertionPoint(op), op.location:
        fused = _fused_epilogue(op)
        result = fused[0].results[0] if fused else op.results[0]
        chain = _fused_pointwise(result)
        if chain is not None:
            result = chain[2]
        uses = list(result.uses)
        sink = uses[0].owner if len(uses) == 1 else None
        in_place = (
            sink is not None
            and sink.operation.name == "bufferization.materialize_in_destination"
            and isinstance(sink.operation.operands[1].type, ir.MemRefType)
        )
        fill = _fill_value(init)
        if (fused or chain) and not (in_place and fill is not None):
            raise InternalError(f"epilogue of {op.name} at {op.location} is not stored to a kernel output")
        if in_place:
            out = sink.operation.operands[1]
        else:
            t = ir.RankedTensorType(init.type)
            # Sizes from a fill's destination, so that the fill itself can be erased.
            sized = defining_op(init).operands[1] if fill is not None else init
            dyn = [tensor.dim(sized, index(i)) for i in range(t.rank) if t.is_dynamic_dim(i)]
            out = memref.alloc(ir.MemRefType.get(t.shape, t.element_type), dyn, [])
        expand = _fused_expand(source)
        if expand is not None and not (in_place and fill is not None):
            raise InternalError(f"expand conv before {op.name} at {op.location} is not a kernel's input")
        block_input = expand[1].input if expand is not None else _buffer_of(source)
        bufs = Buffers(block_input, _buffer_of(op.operands[1]), out)
        epilogue = fused[1] if fused else None
        if fused and fused[2] is not None:  # the residual: views of the input match the output's
            if chain is not None:
                raise InternalError(f"{op.name} at {op.location} adds a residual before its pointwise conv")
            source, out_t = fused[2], ir.MemRefType(out.type)
            if out_t.rank > ir.MemRefType(source.type).rank:  # N..xCxM: input channel c*M+m
                rank = out_t.rank
                source_t = ir.MemRefType.get(out_t.shape, ir.MemRefType(source.type).element_type)
                groups = [[i] for i in range(rank - 2)] + [[rank - 2, rank - 1]]
                source = memref.expand_shape(source_t, source, groups, [], out_t.shape)
            epilogue = dataclasses.replace(epilogue, residual=Residual(out, source))
        emitter = _Emitter(op, info, shape, bufs, pad_lo, epilogue)
        if expand is not None:
            _emit_expand_block(op, emitter, expand[1], chain[1] if chain else None, fill, shape)
        elif chain is not None:
            part = part_args(op)
            if part is not None:
                emitter.split_pixels(*part)
            _emit_fused_block(op, emitter, chain[1], fill, shape)
        elif fill is not None:
            part = part_args(op) if in_place else None
            if part is not None:
                emitter.split_work(*part)
            if not covers_every_output(emitter.geo):
                emitter.fill(fill)  # outputs whose every tap is padding
            emitter.run(fill)
        else:
            memref.copy(_buffer_of(init), out)
            emitter.run(None)
        if in_place:
            sink.operation.erase()
            for dead in chain[0] if chain else []:
                inits = [defining_op(v) for v in dead.operands[1:]]
                dead.erase()
                for init in inits:
                    erase_dead(init)
            if fused:
                dest = defining_op(fused[0].operands[len(fused[0].operands) - 1])
                fused[0].erase()
                erase_dead(dest)
            return None
        return bufferization.to_tensor(ir.RankedTensorType(init.type), out, restrict=True, writable=True)
