"""The pointwise (1x1) conv of a fused block: a register-blocked GEMM micro-kernel.

The depthwise layer leaves a tile of ``count`` pixels x C channels in a stack scratch
(``BlockedRows.emit_fused``); this multiplies it by the (C x COUT) weights while it is in
L1 and stores the block's output pixels directly:

* COUT is the scalable (vector) dim: blocks of up to ``gemm_pixels`` pixels (10 for f32 on
  SVE, else 8) x ``COUT_VECTORS`` weight vectors keep their accumulators (20 or 16) in
  registers across the whole reduction over C; a tile's pixels are cut into balanced blocks
  (a row of 14: 7 + 7, 28: 10 + 9 + 9);
* four steps of the reduction load the 4 x 2 weight vectors once and one 128-bit quad of
  scratch values per pixel (``ld1rqw``), which feeds 8 indexed FMAs (f32 on SVE; one
  ``ld1rw`` broadcast per pixel and step otherwise);
* full COUT vectors run unmasked; only the last COUT step is masked;
* the sums start from the bias (chunks of a reduction add it with the last chunk); the
  epilogue (activation, requantization) and the residual add happen in registers before the
  one store of each output vector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, llvm, memref, scf, vector

from ..ir.epilogue import apply_epilogue
from ..spec import Epilogue
from .nest import (
    Index,
    affine,
    balanced_blocks,
    collapse,
    dense_layout,
    index,
    loop_step,
    no_unroll,
    opaque_index,
    pixel_view,
)

# Pixels of a GEMM block, at most: P x 2 accumulators, 8 weight vectors (4 reduction steps
# x 2) and the quad of one pixel fit the 32 registers without a spill. Per 4 reduction steps
# a block of P pixels costs 8 weight loads, P quad loads, 8P FMAs and about 6 loop and address
# instructions (14 + 9P: 50 per 32 FMAs at P = 4, 86 per 64 at P = 8), so fewer, larger
# blocks are cheaper. 8 (16 accumulators) was checked for f32, f16, int8 and NEON; the
# indexed-FMA path (``lane_fmas``: f32 on SVE) takes 10 (20 accumulators, 29 registers, no
# spill; 40.2 cycles per 80 FMAs on Neoverse V1 in llvm-mca, 99.6 % of its FMA pipes): a row
# of 28 pixels in 10 + 9 + 9, not 7 x 4, 3 % fewer instructions on MobileNetV2 block 7.
PIXELS = 8
LANE_PIXELS = 10
COUT_VECTORS = 2  # weight vectors of a GEMM block
L1D_BYTES = 64 * 1024  # the L1D the scratch tiles are sized for (Neoverse V1's, and most Armv9 cores')
SCRATCH_BYTES = 32 * 1024  # the depthwise tile: half of a 64 KiB L1D, the rest for weights
# Tiles of several output rows may take 7/8 of the L1D where the weights do not fit beside
# the 32 KiB tile anyway (``vector_rows.multi_row_tiles``): such weights stream through L1
# once per tile, so fewer, larger tiles cost fewer L1 misses and less DRAM traffic (cache model).
ROWS_SCRATCH_BYTES = 56 * 1024
MAX_TILE_PIXELS = 64
K_UNROLL = 4  # reduction steps per loop iteration
SDOT_STEP = 16  # int8 reduction steps per loop iteration: one 128-bit load of each pixel


@dataclass(frozen=True)
class FusedPointwise:
    """The 1x1 conv after a depthwise layer: weights (C x COUT), bias, epilogue, residual."""

    filter: ir.Value
    bias: ir.Value | None
    epilogue: Epilogue
    residual: bool
    scale: ir.Value | None = None  # int8: per-output-channel requantization scales
    channels_first: bool = False  # weights (COUT x C), PyTorch's order, instead of (C x COUT)

    @property
    def cout(self) -> int:
        return ir.MemRefType(self.filter.type).shape[0 if self.channels_first else 1]

    @property
    def channels(self) -> int:
        return ir.MemRefType(self.filter.type).shape[1 if self.channels_first else 0]


def lane_fmas(em, quads_of: ir.Value | None = None) -> bool:
    """Whether the GEMMs broadcast their scalars by 128-bit quads and indexed FMAs: f32 on
    scalable SVE (``ldr q`` + ``dup z.q`` once per 4 reduction steps, instead of 4 ``ld1rw``).
    Fixed-width NEON gets indexed FMAs from LLVM on its own. ``quads_of``: the buffer the
    quads are loaded from, which must hold the accumulators' type (a bf16 block's bf16
    operands are widened one by one instead)."""
    if quads_of is not None and ir.MemRefType(quads_of.type).element_type != em.vt.element_type:
        return False
    return em.scalable and isinstance(em.vt.element_type, ir.F32Type) and K_UNROLL == 4


def gemm_pixels(em, quantized: bool = False) -> int:
    """Pixels of a GEMM block at most (``LANE_PIXELS`` on the indexed-FMA path, else ``PIXELS``)."""
    return LANE_PIXELS if lane_fmas(em) and not quantized else PIXELS


def gemm_blocks(pixels: int, cap: int = LANE_PIXELS) -> int:
    """GEMM blocks of a run of ``pixels``, at most ``cap`` pixels a block (as ``balanced_blocks``
    cuts it): what a tile or row choice weighs, each block costing its setup and epilogue."""
    return -(-pixels // cap)


def quad(em, src: ir.Value, at: list[Index], vt: ir.VectorType | None = None) -> ir.Value:
    """The 128 bits at ``src[at ..]`` (contiguous) replicated into every 128-bit segment of a
    ``vt`` (default: the accumulator type)."""
    vt = vt or em.vt
    elt = vt.element_type
    fixed = vector.load(ir.VectorType.get([128 // elt.width], elt), src, [index(i) for i in at])
    wide = vector.scalable_insert(fixed, llvm.mlir_poison(vt), 0)
    lane = arith.constant(ir.IntegerType.get_signless(64), 0)
    return llvm.call_intrinsic(vt, "llvm.aarch64.sve.dupq.lane", [wide, lane], [], [])


def fmla_lane(em, acc: ir.Value, a: ir.Value, quads: ir.Value, lane: int) -> ir.Value:
    """``acc + a * quads[lane]``, the lane taken in each 128-bit segment (SVE indexed FMLA)."""
    imm = arith.constant(ir.IntegerType.get_signless(32), lane)
    return llvm.call_intrinsic(em.vt, "llvm.aarch64.sve.fmla.lane", [acc, a, quads, imm], [], [])


def quad_fmas(
    em, accs: list[ir.Value], vectors: list[list[ir.Value]], quads: Iterable[ir.Value], stride: int
) -> list[ir.Value]:
    """The GEMMs' indexed-FMA core: ``accs[i * stride + j] += vectors[u][j] * quad_i[u]`` for
    every quad ``i`` of ``quads``, reduction step ``u`` and vector ``j``. ``quads`` is
    consumed one at a time, so each quad is loaded right before its FMAs: the indexed operand
    must sit in z0-z7, so few quads may be live at once."""
    accs = list(accs)
    for i, q4 in enumerate(quads):
        for u, row in enumerate(vectors):
            for j, v in enumerate(row):
                accs[i * stride + j] = fmla_lane(em, accs[i * stride + j], v, q4, u)
    return accs


# Small GEMM blocks of whole vectors (at most SMALL_BLOCK_ACCS accumulators) take 2 quads of
# reduction steps per loop iteration: their loop and address instructions are shared by more
# FMAs. A block of 7 pixels x 2 vectors ran 78 instructions per 56 FMAs, 148 per 112 with 8
# steps (MobileNetV2 block 11's 14-pixel rows); blocks of 9 and 10 pixels gain nothing (94.5
# and 104 per quad). Masked blocks (channel tails) keep 1: each block is a copy of the code.
SMALL_BLOCK_ACCS = 14


def reduction_quads(
    count: int,
    accs: list[ir.Value],
    step: Callable[[Index, list[ir.Value]], list[ir.Value]],
    full: bool,
) -> tuple[list[ir.Value], int]:
    """The reduction's steps [0, K) in quads of ``K_UNROLL`` (``step(k0, accs)`` one quad at
    k0) in a loop, 2 quads per iteration for a small block of whole vectors (``full``,
    ``SMALL_BLOCK_ACCS``), a last quad straight after; returns the accumulators and the
    steps done (the rest is the caller's)."""
    per = 2 if full and len(accs) <= SMALL_BLOCK_ACCS else 1
    stride = K_UNROLL * per
    main = count - count % stride
    if main:
        for_op = scf.ForOp(index(0), index(main), index(stride), accs)
        no_unroll(for_op)
        with ir.InsertionPoint(for_op.body):
            k0 = for_op.induction_variable
            body = list(for_op.inner_iter_args)
            for u in range(per):
                body = step(affine(k0, 1, 0, 1, u * K_UNROLL), body)
            scf.YieldOp(body)
        accs = list(for_op.results)
    end = count - count % K_UNROLL
    for k in range(main, end, K_UNROLL):
        accs = step(k, accs)
    return accs, end


def k_steps(
    step: Callable[[Index, list[ir.Value]], list[ir.Value]], k0: Index, accs: list[ir.Value]
) -> list[ir.Value]:
    """``K_UNROLL`` reduction steps from ``k0``, one ``step(k, accs)`` each (the GEMMs
    without indexed FMAs, as ``reduction_quads``' step)."""
    for u in range(K_UNROLL):
        accs = step(affine(k0, 1, 0, 1, u), accs)
    return accs


def read_scalar(buf: ir.Value, at: list[Index], elt: ir.Type) -> ir.Value:
    """``buf[at]`` as an ``elt`` scalar (a bf16 weight widened to f32)."""
    v = memref.load(buf, [index(i) for i in at])
    return v if v.type == elt else arith.extf(elt, v)


def bias_vectors(em, bias: ir.Value | None, cols: list[ir.Value], masks: list) -> list[ir.Value | None]:
    """The bias of each vector of output channels from ``cols`` (masked as its stores), or
    None for each without a ``bias``."""
    if bias is None:
        return [None] * len(cols)
    return [em.read(em.vt, bias, [c], m) for c, m in zip(cols, masks, strict=True)]


def bias_sums(em, biases: list[ir.Value | None], pixels: int) -> list[ir.Value]:
    """The accumulators of ``pixels`` pixels x the vectors of ``biases``, started from the bias
    (no add per output vector after the reduction), or from zero without one."""
    zero = em.zero_vector(em.vt)
    return [zero if b is None else b for _ in range(pixels) for b in biases]


def weight_reader(em, weights: ir.Value, row0: Index, col0: Index, masks: list) -> Callable:
    """``read(k, j)``: the vector ``weights[row0 + k, col0 + j * VL ..]`` (mask ``masks[j]``)
    of a row-major weight matrix, addressed from one base LLVM cannot take apart (an opaque
    index) plus offsets: LLVM then keeps one pointer, and each weight vector is a constant
    offset from it. With the row and column as separate terms it kept a base per weight
    vector and an add each per iteration (78 or 79 instructions per 56 FMAs, not 77, in
    fused blocks, whose chunks start at a run-time row). Weights in any other layout are read
    as they are."""
    t = ir.MemRefType(weights.type)
    if not dense_layout(t):
        return lambda k, j: em.read_acc(
            weights,
            [affine(row0, 1, k, 1, 0), arith.addi(index(col0), arith.muli(em.vector_length(), index(j)))],
            masks[j],
        )
    width = t.shape[1]
    flat = memref.collapse_shape(ir.MemRefType.get([t.shape[0] * width], t.element_type), weights, [[0, 1]])
    base = opaque_index(arith.addi(arith.muli(index(row0), index(width)), index(col0)))
    vl = em.vector_length()

    def read(k: Index, j: int) -> ir.Value:
        off = arith.muli(index(k), index(width))
        if j:
            off = arith.addi(off, arith.muli(vl, index(j)))
        return em.read_acc(flat, [arith.addi(base, off)], masks[j])

    return read


class Retargeted:
    """An emitter whose output and input buffers are other views of them (the GEMM of a tile
    of several output rows writes pixels of collapsed H x W rows); all else is the emitter's."""

    def __init__(self, em, out: ir.Value, input: ir.Value) -> None:
        self._em, self.out, self.input = em, out, input

    def __getattr__(self, name: str):
        return getattr(self._em, name)


def rows_target(em, residual: bool) -> Retargeted:
    """``em`` writing (and, with a ``residual``, reading) through its output and input viewed
    as N x (H x W) x C: a pointwise GEMM of several whole rows writes one run of pixels."""
    rows = collapse(em.input, [1, 2, 1]) if residual else em.input
    return Retargeted(em, collapse(em.out, [1, 2, 1]), rows)


def scratch_budget(weight_bytes: int, base: int = SCRATCH_BYTES) -> int:
    """The scratch a tile may take: ``base``, or ``ROWS_SCRATCH_BYTES`` where the weights it
    streams (``weight_bytes``) would not fit in L1 beside ``base`` anyway (the rule of
    ``vector_rows.multi_row_tiles``, ``vector_rows.whole_image`` and ``expand.plan``)."""
    return ROWS_SCRATCH_BYTES if weight_bytes > L1D_BYTES - base else base


def tile_pixels(channels: int, element_bytes: int, budget: int = SCRATCH_BYTES) -> int:
    """Pixels per scratch tile: as many as fit ``budget`` bytes (at least one)."""
    return max(1, min(MAX_TILE_PIXELS, budget // (channels * element_bytes)))


class PointwiseGemm:
    """Emit ``out[n, o_idx, t0 + p, :] = epilogue(scratch[p, :] @ filter) (+ input)``."""

    def __init__(
        self,
        em,
        pw: FusedPointwise,
        scratch: ir.Value,
        input_zp: int = 0,
        k0: Index = 0,
        first: ir.Value | None = None,
        last: ir.Value | None = None,
    ) -> None:
        """``input_zp``: the int8 scratch's zero point (the depthwise output's), subtracted
        before the products; int8 weights have zero point 0.

        A scratch narrower than C (an expand block's channel chunk) holds channels ``k0 ..``
        of the reduction: the chunk's partial sums start from the output unless ``first``
        (a run-time flag) holds, and only the ``last`` chunk applies the epilogue.
        """
        self.em, self.pw, self.scratch, self.input_zp = em, pw, scratch, input_zp
        self.quantized = isinstance(ir.MemRefType(scratch.type).element_type, ir.IntegerType)
        self.k0, self.first, self.last = k0, first, last
        self.k_count = ir.MemRefType(scratch.type).shape[1]
        self.block_pixels = gemm_pixels(em, self.quantized)
        self.nvec, self.pixels = COUT_VECTORS, self.block_pixels  # the block shape being emitted

    def __call__(self, n: Index, o_idx: list[Index], t0: Index, count: int) -> None:
        em, cout = self.em, self.pw.cout
        step = self.nvec
        vl = em.vector_length()

        def blocks(co0: ir.Value, masks: list[ir.Value | None]) -> None:
            # Balanced: 20 pixels are 7 + 7 + 6, not 8 + 8 + 4.
            balanced_blocks(
                0, count, self.pixels, lambda p, size: self._block(n, o_idx, t0, p, size, co0, masks)
            )

        if not em.scalable:
            lanes = em.lanes * step
            main = cout - cout % lanes
            if main:
                loop_step(0, main, lanes, lambda co0: blocks(co0, [None] * step), unroll=False)
            if main < cout:
                blocks(index(main), self._masks(index(main)))
            return
        width = arith.muli(vl, index(step))
        main = arith.subi(index(cout), arith.remui(index(cout), width))
        loop_step(index(0), main, width, lambda co0: blocks(co0, [None] * step), unroll=False)
        tail = scf.IfOp(arith.cmpi(arith.CmpIPredicate.ult, main, index(cout)))
        with ir.InsertionPoint(tail.then_block):
            # At most one vector of COUT left (all of it when COUT <= VL: MobileNetV2's 24 and
            # 32 at 512 bits and up): blocks of up to 16 pixels x 1 vector, not a masked-off second one.
            one = scf.IfOp(
                arith.cmpi(arith.CmpIPredicate.ule, arith.subi(index(cout), main), vl), [], has_else=True
            )
            with ir.InsertionPoint(one.then_block):
                self.nvec, self.pixels = 1, 2 * self.block_pixels
                blocks(main, self._masks(main))
                self.nvec, self.pixels = COUT_VECTORS, self.block_pixels
                scf.YieldOp([])
            with ir.InsertionPoint(one.else_block):
                blocks(main, self._masks(main))
                scf.YieldOp([])
            scf.YieldOp([])

    @property
    def _sums_from_bias(self) -> bool:
        """Whether the sums start from the bias, else ``_finish`` adds it: not in chunks of a
        reduction (``first``), whose first chunk would start from it (MobileNetV2 block 17's
        fused kernel then ran 0.2 % more instructions, two register copies more in its hot
        loop)."""
        return self.first is None

    def _masks(self, co0: ir.Value) -> list[ir.Value]:
        """Masks of the last COUT step's vectors (the second may be empty)."""
        em, vl = self.em, self.em.vector_length()
        return [
            vector.create_mask(
                em.vt_mask, [arith.subi(index(self.pw.cout), arith.addi(co0, arith.muli(vl, index(j))))]
            )
            for j in range(self.nvec)
        ]

    def _block(
        self, n: Index, o_idx: list[Index], t0: Index, p0: Index, pixels: int, co0: ir.Value, masks
    ) -> None:
        em, pw = self.em, self.pw
        vl = em.vector_length()
        cols = [co0 if j == 0 else arith.addi(co0, arith.muli(vl, index(j))) for j in range(self.nvec)]
        rows = [index(affine(p0, 1, 0, 1, i)) for i in range(pixels)]

        q = self.quantized
        i32 = ir.IntegerType.get_signless(32)
        zp = arith.constant(i32, self.input_zp) if q and self.input_zp else None

        def scalar(k: Index, i: int) -> ir.Value:
            """scratch[p0 + i, k], widened to i32 less the zero point for int8."""
            a = memref.load(self.scratch, [rows[i], index(k)])
            if q:
                a = arith.extsi(i32, a)
                a = arith.subi(a, zp) if zp is not None else a
            return vector.broadcast(em.vt, a)

        def k_step(k: Index, accs: list[ir.Value]) -> list[ir.Value]:
            kw = affine(self.k0, 1, k, 1, 0)  # the weights' row: the chunk's channel k
            if q:  # int8 weights, sign-extended into the i32 lanes (ld1sb)
                weights = [
                    arith.extsi(em.vt, em.read(em.vt_in, pw.filter, [kw, c], m))
                    for c, m in zip(cols, masks, strict=True)
                ]
            else:
                weights = [em.read_acc(pw.filter, [kw, c], m) for c, m in zip(cols, masks, strict=True)]
            for i in range(pixels):
                a = scalar(k, i)
                for j, wv in enumerate(weights):
                    acc = accs[i * self.nvec + j]
                    accs[i * self.nvec + j] = (
                        arith.addi(acc, arith.muli(a, wv)) if q else vector.fma(a, wv, acc)
                    )
            return accs

        # The reduction, K_UNROLL steps per iteration, the remainder of C straight after:
        # fewer loop and address instructions (MobileNetV1 14x14x128 -> 128 at 128 bits: 0.76
        # -> 0.64 instructions per pointwise MAC, measured). int8 on SVE: 16 steps per
        # iteration as indexed dot products (``_sdot_steps``), the rest one by one.
        channels = self.k_count
        sdot = q and em.scalable
        main = channels - channels % (SDOT_STEP if sdot else K_UNROLL)
        # The output rows through views at the block's first pixel: each pixel a constant
        # offset from one base. A chunk of a reduction also loads its partial sums before the
        # loop; its views after the loop take the base through an opaque index, else LLVM kept
        # the base live across the GEMM loop (one more instruction per iteration: MobileNetV2
        # blocks 4-17 0.1-0.7 % more than per-pixel indices; with the opaque base 0.8 % fewer
        # to 0.4 % more, blocks 12, 13 and 17 the most).
        lead = [n, *o_idx]
        first_px = affine(t0, 1, p0, 1, 0)
        out_at = [[*[0] * len(lead), i, c] for i in range(pixels) for c in cols]

        def rows_view(buf: ir.Value, after_loop: bool = False) -> ir.Value:
            hidden = after_loop and self.first is not None
            return pixel_view(buf, lead, opaque_index(first_px, True) if hidden else first_px, pixels)

        out_masks = [m for _ in range(pixels) for m in masks]
        accs = bias_sums(em, bias_vectors(em, pw.bias if self._sums_from_bias else None, cols, masks), pixels)
        if self.first is not None:  # a later chunk: the partial sums so far are in the output
            start = scf.IfOp(self.first, [em.vt] * len(accs), has_else=True)
            with ir.InsertionPoint(start.then_block):
                scf.YieldOp(accs)
            with ir.InsertionPoint(start.else_block):
                out = rows_view(em.out)
                scf.YieldOp([em.read(em.vt, out, at, m) for at, m in zip(out_at, out_masks, strict=True)])
            accs = list(start.results)
        if main and lane_fmas(em) and not q:
            weights = weight_reader(em, pw.filter, self.k0, co0, masks)
        if main and sdot:
            accs = self._sdot_steps(main, rows, cols, masks, accs)
        elif main and lane_fmas(em) and not q:

            def quad_step(k0: Index, step_accs: list[ir.Value]) -> list[ir.Value]:
                # One 128-bit load per pixel feeds K_UNROLL indexed FMAs (fmla z, z, z[u]).
                # All K_UNROLL x 2 weight vectors first, then one quad per pixel at a time:
                # the indexed operand must sit in z0-z7, so few quads may be live at once.
                ws = [[weights(affine(k0, 1, 0, 1, u), j) for j in range(self.nvec)] for u in range(K_UNROLL)]
                quads = (quad(em, self.scratch, [rows[i], index(k0)]) for i in range(pixels))
                return quad_fmas(em, step_accs, ws, quads, self.nvec)

            accs, main = reduction_quads(channels, accs, quad_step, all(m is None for m in masks))
        elif main:
            accs, main = reduction_quads(channels, accs, lambda k0, a: k_steps(k_step, k0, a), False)
        for k in range(main, channels):
            accs = k_step(k, accs)
        if self.last is None:
            self._finish(accs, out_at, out_masks, cols, masks, rows_view)
            return
        finish = scf.IfOp(self.last, [], has_else=True)
        with ir.InsertionPoint(finish.then_block):
            self._finish(accs, out_at, out_masks, cols, masks, rows_view)
            scf.YieldOp([])
        with ir.InsertionPoint(finish.else_block):
            out = rows_view(em.out, after_loop=True)
            for acc, at, m in zip(accs, out_at, out_masks, strict=True):
                em.write(acc, out, at, m)
            scf.YieldOp([])

    def _sdot_steps(self, main: int, rows, cols, masks, accs: list[ir.Value]) -> list[ir.Value]:
        """int8 reduction over channels [0, main) (a multiple of 16) with SVE's indexed dot
        product: ``sdot z.s, z.b, z.b[g]`` adds 4 int8 products into each 32-bit lane.

        Weights are packed on the fly, 4 reduction steps per lane (4 zero-extending byte loads,
        3 shifts, 3 ors per vector), since the ABI's ``[C][COUT]`` layout has them a row apart;
        one 128-bit load per pixel holds 16 steps of its scratch row. The scratch's zero point
        comes off at the end: sum((x - zp) w) = sum(x w) - zp sum(w), the weight sums kept by
        a dot product with ones.
        """
        em, pw = self.em, self.pw
        i8, i32 = ir.IntegerType.get_signless(8), ir.IntegerType.get_signless(32)
        lanes = em.vt.shape[0]
        vt_b = ir.VectorType.get([4 * lanes], i8, scalable=[True])
        ones = arith.constant(vt_b, ir.DenseElementsAttr.get_splat(vt_b, ir.IntegerAttr.get(i8, 1)))
        zp = self.input_zp
        sums = [em.zero_vector(em.vt)] * (self.nvec if zp else 0)

        def pack(k: ir.Value, col, mask) -> ir.Value:
            """Weights W[k .. k + 4][col ..] as bytes 4l .. 4l + 3 of lane l."""
            word = None
            for b in range(4):
                row = em.read(
                    em.vt_in, pw.filter, [affine(self.k0, 1, affine(k, 1, 0, 1, b), 1, 0), col], mask
                )
                part = arith.extui(em.vt, row)
                if b:
                    shift = arith.constant(
                        em.vt, ir.DenseElementsAttr.get_splat(em.vt, ir.IntegerAttr.get(i32, 8 * b))
                    )
                    part = arith.shli(part, shift)
                word = part if word is None else arith.ori(word, part)
            return vector.bitcast(vt_b, word)

        for_op = scf.ForOp(index(0), index(main), index(SDOT_STEP), [*accs, *sums])
        no_unroll(for_op)
        with ir.InsertionPoint(for_op.body):
            k0 = for_op.induction_variable
            carried = list(for_op.inner_iter_args)
            step, step_sums = carried[: len(accs)], carried[len(accs) :]
            quads = [quad(em, self.scratch, [r, k0], vt_b) for r in rows]
            for g in range(SDOT_STEP // 4):
                k = affine(k0, 1, 0, 1, 4 * g)
                packed = [pack(k, c, m) for c, m in zip(cols, masks, strict=True)]
                lane = arith.constant(i32, g)
                for j, wv in enumerate(packed):
                    if zp:
                        step_sums[j] = llvm.call_intrinsic(
                            em.vt, "llvm.aarch64.sve.sdot", [step_sums[j], wv, ones], [], []
                        )
                    for i, qv in enumerate(quads):
                        at = i * self.nvec + j
                        step[at] = llvm.call_intrinsic(
                            em.vt, "llvm.aarch64.sve.sdot.lane", [step[at], wv, qv, lane], [], []
                        )
            scf.YieldOp([*step, *step_sums])
        out = list(for_op.results)
        accs, sums = out[: len(accs)], out[len(accs) :]
        if zp:
            zps = arith.constant(em.vt, ir.DenseElementsAttr.get_splat(em.vt, ir.IntegerAttr.get(i32, zp)))
            corr = [arith.muli(sm, zps) for sm in sums]
            accs = [arith.subi(a, corr[i % self.nvec]) for i, a in enumerate(accs)]
        return accs

    def _finish(self, accs, out_at, out_masks, cols, masks, rows_view: Callable) -> None:
        """The epilogue (and residual) of finished sums, stored once (``out_at`` indexes the
        views ``rows_view`` makes of the output and input)."""
        em, pw = self.em, self.pw
        biases = bias_vectors(em, None if self._sums_from_bias else pw.bias, cols, masks)
        scales = [
            em.read(em.vt_scale, pw.scale, [c], m) if pw.scale is not None else None
            for c, m in zip(cols, masks, strict=True)
        ]
        out = rows_view(em.out, after_loop=True)
        res = rows_view(em.input, after_loop=True) if pw.residual else None
        for i, (acc, at, m) in enumerate(zip(accs, out_at, out_masks, strict=True)):
            j = i % self.nvec
            y = apply_epilogue(acc, pw.epilogue, biases[j], scales[j])
            if res is not None:
                y = arith.addf(y, em.read_acc(res, at, m))
            em.write(y, out, at, m)


class PointwiseGemmFirst:
    """The channels-first GEMM: ``out[n, co, o_idx, t0 + p] = epilogue(sum_c W[co, c] *
    scratch[c, p]) (+ input)``, with pixels (contiguous along W) as the vector dim: blocks of
    ``COUT_ROWS`` output channels x ``COUT_VECTORS`` pixel vectors, each weight broadcast."""

    COUT_ROWS = 4

    def __init__(self, em, pw: FusedPointwise, scratch: ir.Value) -> None:
        self.em, self.pw, self.scratch = em, pw, scratch

    def __call__(self, n: Index, o_idx: list[Index], t0: Index, count: int) -> None:
        em, pw = self.em, self.pw
        rows = self.COUT_ROWS
        step = arith.muli(em.vector_length(), index(COUT_VECTORS))

        def pixels(p0: ir.Value) -> None:
            full, rest = divmod(pw.cout, rows)
            if full:
                loop_step(0, full * rows, rows, lambda co0: self._block(n, o_idx, t0, p0, count, co0, rows))
            if rest:
                self._block(n, o_idx, t0, p0, count, index(full * rows), rest)

        loop_step(index(0), index(count), step, pixels, unroll=False)

    def _block(self, n, o_idx, t0, p0: ir.Value, count: int, co0: ir.Value, rows: int) -> None:
        em, pw = self.em, self.pw
        vl = em.vector_length()
        cols = [p0 if j == 0 else arith.addi(p0, arith.muli(vl, index(j))) for j in range(COUT_VECTORS)]
        masks = [vector.create_mask(em.vt_mask, [arith.subi(index(count), c)]) for c in cols]
        out_ch = [affine(co0, 1, 0, 1, i) for i in range(rows)]

        def k_step(k: Index, accs: list[ir.Value]) -> list[ir.Value]:
            xs = [em.read(em.vt, self.scratch, [k, c], m) for c, m in zip(cols, masks, strict=True)]
            for i in range(rows):
                wv = vector.broadcast(em.vt, read_scalar(pw.filter, [out_ch[i], k], em.vt.element_type))
                for j, x in enumerate(xs):
                    accs[i * COUT_VECTORS + j] = vector.fma(wv, x, accs[i * COUT_VECTORS + j])
            return accs

        def k_quad(k0: ir.Value, accs: list[ir.Value]) -> list[ir.Value]:
            """K_UNROLL steps: every scratch vector first, then one quad of weights
            W[co, k0 .. k0 + 4] per output channel feeding indexed FMAs."""
            xs = [
                [
                    em.read(em.vt, self.scratch, [affine(k0, 1, 0, 1, u), c], m)
                    for c, m in zip(cols, masks, strict=True)
                ]
                for u in range(K_UNROLL)
            ]
            quads = (quad(em, pw.filter, [out_ch[i], k0]) for i in range(rows))
            return quad_fmas(em, accs, xs, quads, COUT_VECTORS)

        zero = em.zero_vector(em.vt)
        biases = [  # the sums start from the bias, as in ``PointwiseGemm``
            vector.broadcast(em.vt, memref.load(pw.bias, [index(ch)])) if pw.bias is not None else zero
            for ch in out_ch
        ]
        accs = [b for b in biases for _ in range(COUT_VECTORS)]
        main = 0
        if lane_fmas(em, quads_of=pw.filter):
            accs, main = reduction_quads(pw.channels, accs, k_quad, False)
        if main < pw.channels:
            for_op = scf.ForOp(index(main), index(pw.channels), index(1), accs)
            with ir.InsertionPoint(for_op.body):
                scf.YieldOp(k_step(for_op.induction_variable, list(for_op.inner_iter_args)))
            accs = list(for_op.results)
        for i in range(rows):
            for j, (c, m) in enumerate(zip(cols, masks, strict=True)):
                y = apply_epilogue(accs[i * COUT_VECTORS + j], pw.epilogue, None, None)
                at = [n, out_ch[i], *o_idx, arith.addi(index(t0), c)]
                if pw.residual:
                    y = arith.addf(y, em.read_acc(em.input, at, m))
                em.write(y, em.out, at, m)
