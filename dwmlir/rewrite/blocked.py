"""Register-blocked rows for plain channels-last convs (nwc_wc, nhwc_hwc, ndhwc_dhwc).

The shape of a hand-written SVE kernel, emitted as vector IR on memrefs:

* The channel dim is the vector dim and the outermost loop (per batch): full vectors run
  unmasked, and only the last, partial step is masked, so there are no mask rebuilds
  in the hot loops and LLVM is free to address unmasked loads as it likes. Even in that
  tail step, 1-D and 2-D rows read their input unmasked (from a flat view; the extra lanes
  are never stored) wherever a full vector stays inside the input buffer.
* A block of ``ACCUMULATORS`` outputs (2 rows x 4 columns, or 1 x 8; half as many columns
  at stride > 1) accumulates in registers across every in-bounds tap of its outputs:
  outer taps (kd, kh) are unrolled in the interior (up to 3x3), loops carrying the
  accumulators elsewhere.
  Each input vector is loaded once per block and feeds every output that reads it (two
  output rows share two of three input rows), and the block is stored once. Blocks along W
  are balanced (14 columns: 2 x 7) and their loops are not unrolled by LLVM, which would
  spill.
* When the filter has at most ``MAX_HOISTED_TAPS`` taps they are loaded once per channel
  step and stay in registers for the whole image.
* f32 3x3 convs of stride 1 or 2 on SVE sweep blocks of rows along W instead
  (``BlockedRows._sweep``): each input vector is loaded once per block and feeds all its
  taps, with accumulators carried from column to column.
* The first tap of an output is a multiply, not a multiply-add on zero: with a zero init
  (and no output left all padding) there is neither a fill pass nor a zero register.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import itertools
import math
from collections.abc import Callable, Iterator

from mlir import ir
from mlir.dialects import arith, llvm, memref, scf, vector

from ..errors import InternalError
from ..ir.epilogue import constants_before
from .nest import (
    MAX_VSCALE,
    ConvGeometry,
    Index,
    Segment,
    add,
    affine,
    block_widths,
    collapse_trailing,
    contiguous_layout,
    dense_layout,
    enclosing_func,
    if_within,
    index,
    loop,
    loop_step,
    mul,
    no_unroll,
    opaque_index,
    outer_groups,
    sub,
    tap_bounds,
    tiles,
    unrolled_w_taps,
    w_segments,
)

# Taps per loop step in a long filter's border column (1-D K=31 SAME: 16 to 30 taps each):
# the Conformer block's depthwise kernel went from 0.93 to 0.85 M instructions (128 bits).
BORDER_TAP_STEP = 4
ACCUMULATORS = 8  # output vectors a block keeps in registers: measured, 10 and 12 spill
ROWS = 2  # output rows per block when rows are paired
# 2-D stride-1 blocks with the taps in registers take three rows of four (block_rows): 12
# accumulators, 9 taps and the input vectors of one column still fit the 32 registers.
TRIPLE_ROWS = 3
TRIPLE_ACCUMULATORS = 12
# Outer taps (kd x kh) unrolled per block: 3x3 keeps a 3-D block one straight run of 27 taps;
# a 5x5x5 filter loops over kd (unrolled, it compiled for 6 s).
MAX_UNROLLED_OUTER_TAPS = 9
# Eight accumulators, the hoisted taps and a few input vectors fit the 32 vector registers.
MAX_HOISTED_TAPS = 12

Accs = list[ir.Value | None]  # None: no tap accumulated yet (the first one multiplies)

_COMPACT = contextvars.ContextVar("dwmlir_compact_rows", default=False)


@contextlib.contextmanager
def compact_rows() -> Iterator[None]:
    """Rows of run-time width emitted for code size rather than speed: no dispatch on the
    width, no paired rows, and each row's rest as one block per set bit. For kernels whose
    run-time segments multiply past the code-size limit (a 3-D kernel with three run-time
    dims and padding on each); ``artefact.limits.rewrite_within_limit`` retries with it."""
    token = _COMPACT.set(True)
    try:
        yield
    finally:
        _COMPACT.reset(token)


def runtime_blocks(
    start: Index,
    count: ir.Value,
    cap: int,
    block: Callable[[Index, int], None],
    rest: int | None = None,
    compact: bool = False,
) -> None:
    """``block(first, width)`` over a run-time number of columns: a loop of ``cap``-wide blocks,
    then the rest (fewer than ``cap``) as one block of exactly that width, so every block stays
    a static straight-line block. ``rest``: ``count`` modulo a multiple of ``cap``, when the
    caller has dispatched on it (``BlockedRows.emit``); else an ``scf.index_switch`` here, or
    with ``compact`` one block per set bit of the rest, largest first (log2(cap) blocks of code
    instead of cap - 1, for rows that run rarely)."""
    if rest is not None:
        tail = rest % cap
        end = sub(add(start, count), tail)
        loop_step(start, end, cap, lambda ow0: block(ow0, cap), unroll=False)
        if tail:
            # The rest's start is rebuilt from the count through an empty asm in the step:
            # computed from ``end``, LLVM hoisted its addresses (each column's) out of the
            # channel loop, computed them per batch entry and reloaded them in every step
            # (1-D K=31, C=64 at 2048 bits: dynamic / static 1.060 -> 1.022; C=768 1.016 ->
            # 1.005). Hiding ``end`` itself kept it live across the block loop (C=768: 1.063).
            block(sub(add(start, opaque_index(count)), tail), tail)
        return
    full = mul(arith.floordivsi(index(count), index(cap)), cap)
    end = add(start, full)
    loop_step(start, end, cap, lambda ow0: block(ow0, cap), unroll=False)
    if cap == 1:
        return
    rest = arith.subi(index(count), index(full))
    if compact:
        bit = 1 << (cap - 1).bit_length() - 1
        while bit:
            has = arith.cmpi(arith.CmpIPredicate.ne, arith.andi(rest, index(bit)), index(0))
            branch = scf.IfOp(has)
            with ir.InsertionPoint(branch.then_block):
                block(arith.addi(end, arith.andi(rest, index(-2 * bit))), bit)  # after larger bits
                scf.YieldOp([])
            bit //= 2
        return
    widths = list(range(1, cap))
    switch = scf.IndexSwitchOp([], rest, widths)
    with ir.InsertionPoint(switch.default_block):
        scf.YieldOp([])  # no rest
    for i, width in enumerate(widths):
        with ir.InsertionPoint(switch.case_block(i)):
            # Its start passes through an empty asm, so that LLVM cannot hoist the addresses
            # of every case out of the channel loop to compute them once per call (3-D
            # 3x3x3 C=32 at 2048 bits, one masked step per call: dynamic / static 1.237 ->
            # 1.203).
            block(opaque_index(end), width)
            scf.YieldOp([])


def block_cap(geo: ConvGeometry, rows: int) -> int:
    """Most output columns per block of ``rows`` rows.

    With stride > 1 a block reads about twice as many input vectors per tap row, and their
    live ranges spill beyond half the accumulators.
    """
    if rows == TRIPLE_ROWS:
        return TRIPLE_ACCUMULATORS // rows
    return max((ACCUMULATORS if geo.strides[-1] == 1 else ACCUMULATORS // 2) // rows, 1)


def pair_rows(geo: ConvGeometry) -> bool:
    """Whether full channel steps use blocks of two output rows (of the innermost outer dim).

    Two rows share input rows: a 3x3 stride-1 block of 2 x 4 outputs loads 24 input vectors
    where 1 x 8 loads 30. Only when the widest W segment still fills two paired blocks: a
    7-wide row would split into straight-line blocks of 4 and 3, which spill. The masked
    tail step keeps single rows: paired, it measured slower (MobileNetV2 112x112x96 stride 2
    at 2048 bits: 0.433 instead of 0.390 instructions per output).
    """
    if geo.rank < 2 or _COMPACT.get():
        return False
    if geo.is_dynamic(geo.rank - 1):
        return True  # rows of run-time width: paired, as rows long enough to matter are
    widest = max((seg.count for seg in geo.segments(geo.rank - 1)), default=0)  # 0: all padding
    return widest >= 2 * block_cap(geo, ROWS)


def block_rows(geo: ConvGeometry) -> int:
    """Most output rows per block in full channel steps (rows of the innermost outer dim).

    Paired rows (``pair_rows``) share input rows. 2-D stride-1 kernels whose taps stay in
    registers go further: 3 x 4 blocks load 30 input vectors per 12 outputs where 2 x 4
    load 24 per 8 (MobileNetV2 56x56x144 at 128 bits: 3.65 -> 3.50 instructions per output).
    Strided rows stay pairs: 3 x 2 blocks spilled (see docs/performance.md, Tried).
    """
    if not pair_rows(geo):
        return 1
    if (
        geo.rank == 2
        and geo.strides[-1] == 1
        and geo.kernel[0] > 1
        and math.prod(geo.kernel) <= MAX_HOISTED_TAPS
    ):
        return TRIPLE_ROWS
    return ROWS


# Output rows per row sweep (``BlockedRows._sweep``): 9 taps + 3 x 6 accumulators + the
# input vector fit the 32 vector registers. At stride 2 (two sets live), 4 rows measured
# best (MobileNetV2 28x28x192 stride 2 at 128 bits: 4.31 instructions per output; 6 rows
# 4.74, 8 rows 4.51).
SWEEP_ROWS = 6
SWEEP_ROWS_S2 = 4
# Rows with fewer output columns run 2-D blocks (``sweeps``).
SWEEP_FROM_COLUMNS = 5
# 1-D sweeps hold the K taps and K accumulators in vector registers.
SWEEP_MAX_TAPS = 12
# 3-D 3x3x3 sweeps run two passes per channel step (BlockedRows._step): the 18 taps of kd = 0
# and 1 over blocks of this many rows, then the 9 of kd = 2 over sweep_rows' blocks. 18 taps,
# 3 x 3 accumulators and an input vector fit the registers; instructions per output at 128
# bits with blocks of 2 / 3 / 4 rows: 3x3x3 C=64 on 8x8x8 outputs 10.64 / 10.38 / 10.94,
# 18x18x18x64 9.87 / 9.88 / 10.17 (4 spills).
SWEEP_ROWS_3D_FIRST = 3
# Static rows of 9 outputs or more (flat_rows) take blocks of 2 in the first pass: 16 rows are
# 8 blocks of 2 rather than 4 of 3 and 2 of 2, half the first pass's code (18x18x18x64:
# 18.2 -> 13.2 KB, 0.4 s less to compile) for the same instructions (9.87 per output).
# Rows of 8 are 3 + 3 + 2 (C=256: 10.47, against 10.72 with blocks of 2); run-time sizes
# keep 3 (C=64: 2.6 % fewer instructions than with 2).
SWEEP_ROWS_3D_FIRST_FLAT = 2
# With run-time sizes the second pass takes blocks of at most this many rows: each height of
# the run-time rest is a sweep of its own, twice (full and tail steps). C=64 kernel's code
# with 6 / 4 / 3 rows: 68.5 / 48.4 / 29.5 KB (the 27-tap blocks before: 49 KB); its
# instructions at 128 bits 357,115 / 357,814 / 362,656, 18x18x18x64's 2.659 / 2.676 / 2.715 M.
SWEEP_ROWS_3D_RUNTIME = 4
# Rows per block of a run-time width dispatched as a static one (_narrow_widths_dispatched).
NARROW_SWEEP_ROWS = 4
NARROW = -1  # BlockedRows.sweep_rest of rows too narrow to sweep


def sweep_rows(geo: ConvGeometry) -> int:
    """Most output rows per block of a row sweep (1-D: its one row)."""
    if geo.rank == 1:
        return 1
    return SWEEP_ROWS if geo.strides[-1] == 1 else SWEEP_ROWS_S2


def sweep_period(geo: ConvGeometry, stride: int | None = None) -> int:
    """Input columns per iteration of a sweep's loop, after which its carried accumulator
    sets are back in their registers (``BlockedRows._sweep``). ``stride``: of its columns,
    if not the W stride (a packed sweep's pixel columns: 2)."""
    if geo.rank == 1:
        return geo.kernel[0]
    return 3 if (stride or geo.strides[-1]) == 1 else 4


# Two pixels of C channels fill a vector of 2C lanes (``packs_pixels``): C at most half of
# the 64 f32 lanes of a 2048-bit vector.
MAX_PACKED_CHANNELS = 32
# Rows per block of a packed sweep: its input rows come in two parities, each a pointer.
PACKED_SWEEP_ROWS = 6
# A packed sweep's columns are pixels, two per output column.
PACKED_STRIDE = 2


def packs_pixels(geo: ConvGeometry, channels: int) -> bool:
    """Whether a 2-D row sweep packs two output pixels into each vector when the vector has
    2C lanes (``BlockedRows._packed_or``): 3x3 stride 1 without padding (every row swept:
    border rows run in blocks of one pixel per vector), an even output width (a run-time
    one is checked at run time), and C a power of two from 2 to MAX_PACKED_CHANNELS: 2C
    lanes is then one of the vector lengths the suite runs (128 to 2048 bits; SVE also
    allows 384, 640, ...). Otherwise a vector of lanes > C holds one pixel and leaves the
    other lanes idle (C=32 at 2048 bits: half)."""
    if geo.rank != 2:
        return False
    width = geo.out_spatial[-1]
    return (
        tuple(geo.kernel) == (3, 3)
        and tuple(geo.strides) == (1, 1)
        and tuple(geo.dilations) == (1, 1)
        and all(
            len(gs) == 1 and (gs[0].start, gs[0].kmin, gs[0].kmax) == (0, 0, 2)
            for gs in (outer_groups(geo, 0), w_segments(geo))
        )
        and (not isinstance(width, int) or width % 2 == 0)  # run-time widths: checked at run time
        and channels in (2, 4, 8, 16, MAX_PACKED_CHANNELS)
    )


def sweep_least_width(geo: ConvGeometry, stride: int | None = None) -> int:
    """The fewest output columns a swept segment of run-time width sweeps (its steady
    columns not negative); narrower ones run one block per column. ``stride``: as for
    sweep_period."""
    kw_n, s = geo.kernel[-1], stride or geo.strides[-1]
    return max(2, (kw_n - 1 + s - 1) // s) if s > 1 else kw_n - 1


def sweep_rests(geo: ConvGeometry, stride: int | None = None) -> list[int]:
    """The rests of a sweep's steady columns modulo its period (odd ones at stride 2).
    ``stride``: as for sweep_period."""
    s = stride or geo.strides[-1]
    return [r for r in range(sweep_period(geo, s)) if s == 1 or r % 2]


def sweep_passes_3d(geo: ConvGeometry) -> list[tuple[tuple[int, ...], int]]:
    """A 3-D sweep's passes: the planes of taps (kd) each holds, and its most rows per block."""
    if geo.runtime_sizes:
        return [((0, 1), SWEEP_ROWS_3D_FIRST), ((2,), SWEEP_ROWS_3D_RUNTIME)]
    first = SWEEP_ROWS_3D_FIRST_FLAT if flat_rows(geo) else SWEEP_ROWS_3D_FIRST
    return [((0, 1), first), ((2,), sweep_rows(geo))]


def sweeps(geo: ConvGeometry) -> bool:
    """Whether the channel steps of a 2-D 3x3 conv of stride 1 or 2, a 3-D 3x3x3 conv of
    stride 1 (two passes, ``sweep_passes_3d``), or a 1-D conv of stride 1 with at most
    SWEEP_MAX_TAPS taps, sweep blocks of rows along W (``BlockedRows._sweep``) rather than run
    blocks, when the emitter allows (f32 on SVE, outputs from their first product:
    ``BlockedRows.__init__``). Rows narrower than SWEEP_FROM_COLUMNS keep blocks.
    Instructions per output against the blocks (3 x 4 at stride 1, 2 x 2 at stride 2) at 128
    bits: MobileNetV2 112x112x32 0.87, 56x56x144 0.87, 28x28x192 0.89, 14x14x384 0.86;
    112x112x96 stride 2 0.95, 56x56x144 0.92, 28x28x192 0.92, 14x14x576 0.86; 7x7x960 0.97
    (against 1 x 7 blocks; ``_sweep`` says what 7-wide rows needed); 57x57x32 stride 2 0.92.
    Masked tail steps sweep too (112x112x32 at 2048 bits, one masked step: 0.84). 3-D
    against 2 x 4 blocks of 27 taps: 3x3x3 C=64 on 8x8x8 outputs 0.94, 18x18x18x64 0.93."""
    w = geo.rank - 1
    wide = geo.is_dynamic(w) or max((g.count for g in geo.segments(w)), default=0) >= SWEEP_FROM_COLUMNS
    if geo.rank == 1:
        return geo.kernel[0] <= SWEEP_MAX_TAPS and geo.strides[0] == 1 and geo.dilations[0] == 1 and wide
    if geo.rank == 3:
        return (
            tuple(geo.kernel) == (3, 3, 3) and set(geo.strides) == {1} and set(geo.dilations) == {1} and wide
        )
    return (
        tuple(geo.kernel) == (3, 3)
        and tuple(geo.strides) in ((1, 1), (2, 2))
        and tuple(geo.dilations) == (1, 1)
        and wide
    )


def row_sweep(geo: ConvGeometry, dtype: str, scalable: bool) -> bool:
    """Whether ``BlockedRows`` sweeps this kernel's rows (``sweeps``, f32, SVE)."""
    return sweeps(geo) and dtype == "f32" and scalable


def linear(idx: list[Index], shape: list[Index]) -> Index:
    """Row-major linear index of ``idx`` in ``shape`` (the first size is not needed)."""
    acc = idx[0]
    for i, size in zip(idx[1:], shape[1:], strict=True):
        acc = affine(acc, size, i, 1, 0) if isinstance(size, int) else add(mul(acc, size), i)
    return acc


def unmasked_tail_reads(geo: ConvGeometry) -> bool:
    """Whether the tail step reads the input unmasked where it can (1-D and 2-D).

    Masked SVE loads take one address add each where LLVM addresses unmasked ones for free
    (measured: 144 instead of 112 instructions per 2 x 4 block). Not for 3-D rows: two
    copies of their 27-tap blocks spill vector registers (3x3x3, C=32 at 2048 bits: 1.93
    instead of 1.48 instructions per output).
    """
    return geo.rank <= 2


# Strided 2-D rows of run-time width at least this long get column bases (``_long_rows_apart``).
LONG_STRIDED_ROWS = 16

# Static 3-D rows at least this wide are read through a flat view (``flat_rows``).
FLAT_3D_ROWS_FROM = 9


# The input bytes a band of rows may read (band_rows): a quarter of Neoverse V1's 1 MiB L2,
# half of it in 3-D. Measured with the cache model (docs/performance.md): with 512 KiB bands
# the 2-D kernels still read their bytes once, but 56x56x144 stride 2 took 1.05x the
# instructions; the 3-D ones took 0.98x (c256) and 0.99x (18x18x18x64), their bands of one
# plane re-reading three input planes per channel step.
BAND_BYTES = 256 * 1024
BAND_BYTES_3D = 512 * 1024
# Kernels whose input and output together fit Neoverse V1's L2 keep them there across the
# channel steps: no bands.
BANDED_BYTES = 1024 * 1024


def band_rows(geo: ConvGeometry, channels: int, elt_bytes: int, sweep: bool = False) -> int | None:
    """Output rows (of the first outer dim) per band, or None for no bands.

    With the channel steps outermost, every step sweeps the whole input, reading a vector of
    each pixel: at 128 bits four steps share each 64-byte line, which is gone from the caches
    by the time the next step reads it once the input is larger than they are. A band runs
    every channel step over its rows before the next band, so the lines a band reads stay
    cached across its steps. A band reads at most BAND_BYTES (BAND_BYTES_3D in 3-D) of input
    (at least one output row, two when rows are paired). Static 2-D and 3-D kernels whose
    input and output together are larger than BANDED_BYTES get bands: each step writes the
    output's lines too, and those evict the input's (the cache model: 10x10x10x256, a 1000 KB
    input and a 512 KB output, read 3.95x the compulsory bytes from DRAM at 128 bits without
    bands).

    ``sweep``: the kernel sweeps its rows (``row_sweep``). A 2-D band is then a whole number
    of the sweep's blocks (sweep_rows), at least one, even where that reads more than
    BAND_BYTES: a band of 2 rows made blocks of 2. Instructions per output at 128 bits
    (bands of the budget's rows -> whole blocks): 112x112x96 stride 2 4.499 -> 4.024 (bands
    of 2 -> 4), 56x56x144 stride 2 4.287 -> 4.079 (3 -> 4), 28x28x192 3.183 -> 3.114 (9 ->
    6), 56x56x144 3.055 -> 3.012 (5 -> 6), 112x112x32 3.039 -> 3.000 (15 -> 12). The cache
    model still counts 1.00x the compulsory DRAM bytes at 128 and 512 bits: a channel step
    of a band touches one line per pixel of its rows (9 input rows of 113 pixels: 65 KB),
    and the whole band stays in L2 for the next band to reread its first rows. Kernels that
    do not sweep (the x86 host's) keep the budget's rows: there 56x56x144 ran 1.25x longer
    in bands of 6 than of 5, 112x112x96 stride 2 1.10x in bands of 4 than of 2.
    """
    if geo.rank < 2 or geo.runtime_sizes:
        return None
    row_bytes = math.prod(geo.in_spatial[1:]) * channels * elt_bytes
    footprint = (math.prod(geo.in_spatial) + math.prod(geo.out_spatial)) * channels * elt_bytes
    if footprint <= BANDED_BYTES:
        return None
    span = geo.dilations[0] * (geo.kernel[0] - 1) + 1
    budget = BAND_BYTES_3D if geo.rank == 3 else BAND_BYTES
    rows = (budget // row_bytes - span) // geo.strides[0] + 1
    low = sweep_rows(geo) if sweep and geo.rank == 2 else _band_step(geo)
    rows = max(rows, low)
    if rows >= geo.out_spatial[0]:
        return None
    return rows - rows % low


# A whole call's bands (run_band_rows) read at most this much input: 1.25x BAND_BYTES, which
# NAME_part's static bands round down to whole sweep blocks.
RUN_BAND_BYTES = 320 * 1024


def run_band_rows(
    geo: ConvGeometry, rows: int, bands: int, channels: int, elt_bytes: int, height: int
) -> int | None:
    """Rows per band of a whole call of a 2-D sweep (blocks of ``height`` rows) that makes
    more than one channel step, over a run of ``rows`` rows in static bands of ``bands``: the
    tallest whole number of blocks that divides the run and reads at most RUN_BAND_BYTES of
    input, at least ``bands``. None where the heights a call chooses from at run time (this,
    ``bands`` and the whole run: ``BlockedRows._band_height``) are not all whole blocks."""
    row_bytes = math.prod(geo.in_spatial[1:]) * channels * elt_bytes
    span = geo.dilations[0] * (geo.kernel[0] - 1) + 1
    fits = [
        h
        for h in range(height, rows + 1, height)
        if rows % h == 0 and ((h - 1) * geo.strides[0] + span) * row_bytes <= RUN_BAND_BYTES
    ]
    tall = max([bands, *fits])
    return None if math.gcd(rows, bands, tall) % height else tall


def _band_step(geo: ConvGeometry) -> int:
    """Band heights are multiples of this: 2-D blocks of rows stay whole (their rows are the
    bands'), except in NAME_part's bands (``part_bands``)."""
    if geo.rank != 2 or sweeps(geo):  # a band's rows are swept in balanced blocks of any height
        return 1
    return block_rows(geo)


# NAME_part of a kernel without bands still splits rows: into about this many bands.
PART_BANDS = 16
# NAME_part of a kernel with bands splits them further when they are fewer than this.
MIN_PART_BANDS = 8


def part_bands(geo: ConvGeometry, channels: int, elt_bytes: int, sweep: bool = False) -> int | None:
    """Rows per band that NAME_part shares out (None: it shares channels instead).

    A kernel with bands (band_rows) shares those, cut to at least MIN_PART_BANDS bands: the
    three 3-plane bands of 10x10x10x256 ran 1.50x faster on two threads than on one, two
    bands against one. Other static 2-D and 3-D kernels get bands in NAME_part only, about
    PART_BANDS of them: a share of the channels makes every thread sweep every row, and on
    the host two threads were no faster than one on 28x28x192 (each reads every other
    64-byte line of a pixel; the adjacent-line prefetcher fetches both). ``sweep``: as for
    band_rows.
    """
    rows = band_rows(geo, channels, elt_bytes, sweep)
    if geo.rank < 2 or geo.runtime_sizes:
        return rows
    if not outer_groups(geo, 0):  # every output reads only padding: no row to share out
        return None

    def rows_for(count: int) -> int:
        """Rows per band for about ``count`` bands, a whole number of band steps; of row
        pairs where blocks of 3 rows would leave fewer than MIN_PART_BANDS bands (14 rows:
        7 bands of 2, not 5 of 3)."""
        per = -(-geo.out_spatial[0] // count)
        if sweeps(geo) and geo.rank == 2:  # a sweep of one row loads 3 input vectors per output; of two, 2
            return max(per, ROWS)
        rows = per + -per % _band_step(geo)
        if _band_step(geo) == TRIPLE_ROWS and -(-geo.out_spatial[0] // rows) < MIN_PART_BANDS:
            rows = per + -per % ROWS
        return rows

    if rows is not None:
        return min(rows, rows_for(MIN_PART_BANDS))
    rows = rows_for(PART_BANDS)
    return rows if rows < geo.out_spatial[0] else None


def whole_is_part(geo: ConvGeometry, channels: int, elt_bytes: int, sweep: bool = False) -> bool:
    """Whether NAME_part(..., 0, 1) runs the same code as NAME: both run bands of rows, and
    part_bands keeps band_rows' height. NAME then calls NAME_part, and the kernel goes through
    the backend once instead of twice: spec to object 0.96 -> 0.61 s for 112x112x32 (median
    of 5; the two copies took 0.99 and 1.00x NAME's instructions at 128 and 2048 bits on the
    four such bench kernels, 112x112x96 stride 2 and 56x56x144 stride 1 and 2 the others)."""
    rows = band_rows(geo, channels, elt_bytes, sweep)
    return rows is not None and rows == part_bands(geo, channels, elt_bytes, sweep)


def cut_into_bands(g: Segment, bands: int) -> bool:
    """Whether ``BlockedRows.emit`` cuts the run of rows ``g`` into bands of ``bands`` rows: a
    static run with taps in bounds, taller than a band (a border run is one band)."""
    return g.kmin <= g.kmax and isinstance(g.count, int) and g.count > bands


def band_units(geo: ConvGeometry, bands: int) -> int:
    """How many bands of ``bands`` rows ``BlockedRows.emit`` runs per batch entry (a border run
    of rows is one)."""
    units = 0
    for g in outer_groups(geo, 0):
        if cut_into_bands(g, bands):
            units += -(-g.count // bands)
        else:
            units += 1
    return units


def blocking(geo: ConvGeometry, channels: int, elt_bytes: int, sweep: bool = False) -> dict[str, object]:
    """The register blocking ``BlockedRows`` chooses for a static kernel (for NAME.json):
    rows per block, the blocks of the widest row's interior (none when rows are swept:
    ``row_sweep``), a 3-D sweep's passes (planes of taps and rows per block), bands, flat
    rows, and whether the filter taps stay in registers across a channel step (a 3-D sweep:
    each pass's)."""
    rows = sweep_rows(geo) if sweep else block_rows(geo)
    interior = max((g.count for g in geo.segments(geo.rank - 1)), default=0)
    bands = band_rows(geo, channels, elt_bytes, sweep)
    taps = math.prod(geo.kernel)
    doc: dict[str, object] = {
        "rows_per_block": rows,
        "blocks_per_row": [  # none when every output reads only padding
            {"columns": w, "count": c}
            for w, c in (
                block_widths(interior, block_cap(geo, rows), lone_wide=geo.rank < 3)
                if interior and not sweep
                else []
            )
        ],
        "row_sweep": sweep,
        "bands": None if bands is None else _bands_doc(geo, bands, channels, elt_bytes, sweep),
        "flat_rows": flat_rows(geo),
        "taps_in_registers": taps <= MAX_HOISTED_TAPS or sweep,
    }
    if sweep and packs_pixels(geo, channels):
        doc["packed_pixels"] = {"pixels_per_vector": 2, "when_lanes": 2 * channels}
    if sweep and geo.rank == 3:
        doc["sweep_passes"] = [{"kd": list(kd), "rows_per_block": r} for kd, r in sweep_passes_3d(geo)]
    return doc


def _bands_doc(
    geo: ConvGeometry, bands: int, channels: int, elt_bytes: int, sweep: bool
) -> dict[str, object]:
    """NAME.json's bands: rows per band and bands per batch entry (NAME_part's shares), and
    what a whole call of a 2-D sweep runs instead (``BlockedRows._band_height``): taller bands
    while a step leaves another, one band from the vector length that holds every channel."""
    doc: dict[str, object] = {"rows": bands, "per_batch_entry": band_units(geo, bands)}
    if not (sweep and geo.rank == 2):
        return doc
    runs = [g.count for g in outer_groups(geo, 0) if cut_into_bands(g, bands)]
    if not runs:
        return doc
    rows = max(runs) - max(runs) % bands
    tall = run_band_rows(geo, rows, bands, channels, elt_bytes, sweep_rows(geo))
    if tall is not None:
        doc["whole_call_rows"] = tall
        if channels <= MAX_VSCALE * 16 // elt_bytes:  # lanes of a 2048-bit vector
            doc["one_band_from_lanes"] = channels
    return doc


def bands_without_lsr(geo: ConvGeometry) -> bool:
    """Whether a kernel with bands (band_rows) compiles without LLVM's loop strength reduction:
    2-D with W stride 1. There LSR gave each band's row pairs their own pointers, rotated
    through 20 registers per block (112x112x32: 1.44x the instructions per output; without
    LSR 1.02x). Stride-2 bands keep it (without: 1.06x against 1.04x)."""
    return geo.rank == 2 and geo.strides[-1] == 1


# On the func.func of a kernel whose bands want no LSR, for ``dwmlir lower`` (which picks the
# llc flags after the rewrites).
NO_LSR_ATTR = "dwmlir.no_lsr"


def flat_rows(geo: ConvGeometry) -> bool:
    """Whether full channel steps read input rows from a flat view (one start index per row,
    constant column offsets) rather than by a multi-dim index per load: 3-D rows with
    run-time sizes or more than 8 outputs wide. Their blocks then unroll kd too, and with
    LLVM's loop strength reduction off (``compile.loop_strength_reduction``) each of the 12
    rows of a 2 x 4 block is one address register plus shared column offsets. Before, every
    input vector became its own pointer, incremented per block, and they spilled (run-time
    sizes, c3d_3x3x3_c64: 1.50x the static kernel's instructions, now 1.17x; static
    18x18x18x64: 14.73 instructions per output, now 12.07). Rows of 8 are one pair of
    blocks, which multi-dim indices with LSR address better (11.02 against 12.80); 2-D rows
    gain nothing from the flat view (1.14x against 1.08x)."""
    if geo.rank != 3:
        return False
    if geo.runtime_sizes:
        return True
    return geo.out_spatial[-1] >= FLAT_3D_ROWS_FROM


def relative_rows(geo: ConvGeometry) -> bool:
    """Whether blocks with run-time sizes or flat rows read their input rows through the flat
    view, each row's start the block's first row plus its static outer offsets times the
    row and plane strides (with run-time sizes, products LLVM hoists), instead of a multi-dim
    index per row, which cost a multiply and three adds per row of every block. Dynamic over
    static instructions per output, 128 bits: MobileNetV2 7x7x960 1.10 -> 1.06, 14x14x576
    1.08 -> 1.04, 3-D 3x3x3 C=64 1.17 -> 1.08 (``_relative_reader``). Static flat rows too: 3-D 3x3x3 on
    18x18x18x64 took 12.07 instructions per output, now 10.63 (1.09x the strongest ACLE
    baseline, was 1.24x); static tail steps keep a start per row (C=32 at 2048 bits, where
    the one channel step is a masked tail: 1.71 instead of 1.51 on 6x6x14 outputs)."""
    return geo.rank >= 2 and (flat_rows(geo) or geo.runtime_sizes)


def covers_every_output(geo: ConvGeometry) -> bool:
    """Whether every output has an in-bounds tap in every dim (none is all padding), or is
    visited anyway: the merged borders of a run-time size cover every output."""
    return all(
        geo.is_dynamic(j) or sum(g.count for g in geo.segments(j)) == geo.out_spatial[j]
        for j in range(geo.rank)
    )


@dataclasses.dataclass(frozen=True)
class _Step:
    """One channel step: batch entry, first channel, tail mask (None: full vector), hoisted taps."""

    n: Index
    c0: ir.Value
    mask: ir.Value | None
    hoisted: dict[tuple[int, ...], ir.Value]
    params: object  # vector_rows.ChannelParams: the fused epilogue's bias and scale vectors
    # Tail step only: read the input with unmasked full vectors from its flat view (the
    # extra lanes read the next pixels and are never stored).
    unmasked_input: bool = False
    # Steps of a sweeping kernel: the predicate of ``BlockedRows._sweep``'s tied multiply-adds
    # (the tail mask, or in full steps an all-true predicate LLVM cannot see through).
    pred: ir.Value | None = None


class BlockedRows:
    """Every output of one batch entry of a plain channels-last conv (``em``: vector_rows._Emitter)."""

    def __init__(self, em, init: ir.Value | None = None, from_output: bool = False) -> None:
        """Outputs start from the output buffer (``from_output``), a splat of scalar ``init``,
        or else from their first product."""
        self.em, self.geo = em, em.geo
        self.init, self.from_output = init, from_output
        self.w_rest: int | None = None  # see emit
        # A 1-D sweep of run-time width dispatched once (_sweep_dispatched): the rest of its
        # steady columns modulo the loop's period, or NARROW (too narrow to sweep).
        self.sweep_rest: int | None = None
        self.sweep_width: int | None = None  # a run-time width swept as this (_narrow_widths_dispatched)
        self.w_modulus = 1
        self.w_exact = False
        self.in_shape: list[Index] = list(em.in_dims)
        self.in_total: Index = (
            math.prod(self.in_shape) if all(isinstance(v, int) for v in self.in_shape) else None
        )
        self.sweep = em.sweeps_rows and init is None and not from_output
        self.packed = False  # emitting the packed copy (_packed_or)
        # A 3-D sweep's pass (sweep_passes_3d): the planes of taps it runs, kd.
        self.sweep_planes: tuple[int, ...] | None = None
        self.flat_rows = flat_rows(self.geo)
        self.flat_input = (
            collapse_trailing(em.input, len(self.in_shape))
            if unmasked_tail_reads(self.geo) or self.flat_rows or self.sweep
            else None
        )
        self.relative_rows = self.flat_input is not None and relative_rows(self.geo)
        # Sweeps whose rows are chained (``_sweep``): 2-D and 3-D with run-time sizes, and
        # static 3-D. Static 3-D 128 bits: C=32 171,032 -> 165,152 instructions, C=256 -2.9 %,
        # 18x18x18x64 -1.4 %. (A 2-D sweep that chains its columns chains its rows in any
        # case: ``_sweep``.)
        self.chained_rows = self.sweep and (
            (self.geo.rank > 1 and self.geo.runtime_sizes) or self.geo.rank == 3
        )
        # 2-D and 3-D sweeps store through a flat view of the output, when it is a dense
        # buffer of the input's rank (chained rows from one start; static 2-D rows each from
        # their own: 128 bits 7x7x960 -2.4 %, 14x14 stride 1 -1.3 %, 28x28x192 -1 %, 14x14x576
        # stride 2 +1.1 %), so that a tail step can keep its column offsets apart (``_sweep``).
        out_t = ir.MemRefType(em.out.type)
        self.flat_out = (
            collapse_trailing(em.out, out_t.rank)
            if self.sweep
            and self.geo.rank > 1
            and contiguous_layout(out_t)
            and out_t.rank == len(self.in_shape)
            else None
        )
        self.column_bases = False  # see _long_rows_apart
        # Values made once per function at its entry (_opaque_true, _entry_offsets).
        self._entry_true: list[tuple[ir.Block, ir.Value]] = []
        self._entry_offsets_made: list[tuple[ir.Block, tuple[int, int], list[ir.Value]]] = []
        self._row_start: tuple[ir.Value, ir.Value] | None = None  # see _carried_rows

    def emit(
        self, n: Index, share: tuple[ir.Value, ir.Value] | None = None, bands: int | None = None
    ) -> None:
        """Every output of batch entry ``n``: channel steps outermost, or inside bands of rows.
        ``share``: only bands ``[lo, hi)`` of the (n, band) sequence of ``bands`` rows each (a
        NAME_part's rows, ``part_bands``); else the bands are ``band_rows``'."""
        if share is None:
            bands = band_rows(self.geo, self.em.c, self.em.vt_in.element_type.width // 8, self.sweep)
        # Row sweeps, and bands that want no LSR, say so to ``dwmlir lower``
        # (compile.loop_strength_reduction decides the same for ``compile``).
        func = enclosing_func(self.em.op)
        two_d_sweep = self.sweep and self.geo.rank == 2  # 1-D sweeps keep LSR (compile's rule)
        if func is not None and (two_d_sweep or (bands is not None and bands_without_lsr(self.geo))):
            func.attributes[NO_LSR_ATTR] = ir.UnitAttr.get()
        if bands is None:

            def steps() -> None:
                narrow = self._narrow_widths_dispatched if self._dispatches_narrow_widths() else None
                self._steps(n, None, narrow)

            if not self._dispatch_outside():
                self._packed_or(steps)
            elif self.sweep:
                self._sweep_dispatched(steps)
            else:
                self._dispatched(steps)
            return
        self._packed_or(lambda: self._bands(n, share, bands))

    def _bands(self, n: Index, share: tuple[ir.Value, ir.Value] | None, bands: int) -> None:
        """``emit``'s bands of ``bands`` rows of the first outer dim around the channel steps
        (band_rows); ``unit`` counts them over the batch, for a share."""
        unit: Index = 0 if share is None else mul(n, band_units(self.geo, bands))

        def mine(u: Index, body: Callable[[], None]) -> None:
            if share is None:
                body()
            else:
                if_within(u, share, body)

        for g in outer_groups(self.geo, 0):
            if not cut_into_bands(g, bands):
                mine(unit, lambda g=g: self._steps(n, g))
                unit = add(unit, 1)
                continue
            full, rest = divmod(g.count, bands)

            def band(b0: Index, rows: int, g: Segment = g) -> None:
                self._steps(n, Segment(b0, rows, g.kmin, g.kmax))

            lo, hi = 0, full
            if share is not None:  # this share's full bands of the run: [lo, hi) of 0 .. full
                first = index(unit)
                lo = arith.minsi(arith.maxsi(arith.subi(share[0], first), index(0)), index(full))
                hi = arith.maxsi(arith.minsi(arith.subi(share[1], first), index(full)), lo)
            height = self._band_height(full, bands, None if share is None else (lo, hi))
            loop_step(
                affine(lo, bands, 0, 0, g.start),
                affine(hi, bands, 0, 0, g.start),
                height,
                lambda b0, g=g, height=height: (
                    band(b0, height)
                    if isinstance(height, int)
                    else self._steps(n, Segment(b0, height, g.kmin, g.kmax, multiple_of=self._sweep_height()))
                ),
                unroll=False,
            )
            unit = add(unit, full)
            if rest:
                mine(unit, lambda g=g, full=full, rest=rest: band(g.start + full * bands, rest))
                unit = add(unit, 1)

    def _band_height(self, full: int, bands: int, share: tuple[ir.Value, ir.Value] | None) -> Index:
        """Rows per band, at run time, of a run of ``full`` static bands of ``bands`` rows
        (``share``: the bands [lo, hi) a NAME_part share runs; None: all). Bands keep the 64-byte
        lines that channel steps share in cache across the steps; each band reloads the taps
        and runs the channel loop's control again (38 instructions per band step for
        112x112x32 at 512 and 1024 bits). So a call that runs the whole run takes:

        * one band, where it makes one channel step: nothing to keep (a packed sweep; or a
          vector that holds all C * M channels, known at run time only);
        * else the tallest band of whole sweep blocks that divides the run and reads at most
          RUN_BAND_BYTES of input (``run_band_rows``): 112x112x32 in 6 bands of 18 rows,
          not 9 of 12 (the cache model: 1.0003x the compulsory bytes; in 3 bands of 36, 1.65x
          at 128 bits). NAME_part's shares stay whole static bands.

        2-D sweeps only, where every height it chooses from is a whole number of sweep
        blocks (the loop of a band's blocks then has a run-time end and no rest)."""
        rows = full * bands
        if not (self.sweep and self.geo.rank == 2) or rows == bands:
            return bands
        em = self.em
        total = em.c * em.m
        elt_bytes = em.vt_in.element_type.width // 8
        tall = run_band_rows(self.geo, rows, bands, em.c, elt_bytes, self._sweep_height())
        if tall is None:
            return bands
        whole = None
        if share is not None:  # first: LLVM's code for 112x112x32 follows the order of these ops
            eq = arith.CmpIPredicate.eq
            whole = arith.andi(arith.cmpi(eq, share[0], index(0)), arith.cmpi(eq, share[1], index(full)))
        one: ir.Value | bool
        if self.packed or not em.scalable:
            one = self.packed or total <= em.lanes
        elif total > em.lanes * MAX_VSCALE:
            one = False
        else:
            one = arith.cmpi(arith.CmpIPredicate.uge, em.vector_length(), index(total))
        if isinstance(one, bool):
            height: Index = rows if one else tall
        else:
            height = arith.select(one, index(rows), index(tall))
        if whole is None or (isinstance(height, int) and height == bands):
            return height
        return arith.select(whole, index(height), index(bands))

    def _sweep_height(self) -> int:
        """Rows per block of this copy's 2-D sweep (of a static width)."""
        return PACKED_SWEEP_ROWS if self.packed else sweep_rows(self.geo)

    @property
    def _summing_pass(self) -> bool:
        """Whether this is a 3-D sweep's second pass, which adds its taps to the sums the
        first stored, and only where it swept (the first completed every other output)."""
        return self.sweep_planes is not None and 0 not in self.sweep_planes

    def _dispatch_outside(self) -> bool:
        """Whether a kernel with a run-time width dispatches on it once, around its channel
        steps (each case a loop of channel steps: ``_sweep_dispatched`` for row sweeps, else
        ``_dispatched``), rather than in every full channel step: 1-D kernels and 3-D sweeps.

        In 1-D the dispatch per step had LLVM hoist the address arithmetic of the 8 cases
        above the switch: about 90 instructions and spills per channel step and 80 per call,
        and at long vector lengths a row has few channel steps (blocks of K=7, C=64 at 2048
        bits: 1.153x the static kernel's instructions, 1.049x dispatched once). Only when the
        taps stay in registers (MAX_HOISTED_TAPS): K=31 blocks, 38 columns, then rotated 24
        address registers per block at C=768 (1.016x -> 1.078x). A 3-D sweep dispatched in
        each of its 5 sweeps per plane: once per call, dynamic / static at 128 bits C=64
        1.052 -> 1.032, 18x18x18x64 1.034 -> 1.020, for 1.8x the code (C=64: 48 -> 86 KB).
        Only without padding: the copies of a padded kernel's border blocks went over the
        size limit (110,773 ops, SAME with a bias and ReLU)."""
        geo = self.geo
        if geo.rank == 3:
            borderless = all(len(outer_groups(geo, j)) == 1 for j in range(2)) and len(w_segments(geo)) == 1
            return self.sweep and geo.is_dynamic(2) and borderless
        if geo.rank == 2:
            return geo.strides[-1] == 2 and self._affords_copies()
        return geo.rank == 1 and geo.is_dynamic(0) and math.prod(geo.kernel) <= MAX_HOISTED_TAPS

    def _sweep_dispatched(self, emit_rows: Callable[[], None]) -> None:
        """``emit_rows()`` (every channel step of a row sweep of run-time width) once per rest
        of the sweep's steady columns modulo its loop's period, and once for rows too narrow
        to sweep, so that no channel step dispatches (in 1-D, ``_sweep``'s switch in every
        step cost 1.070x the static kernel's instructions at 128 bits, 1.153x at 2048)."""
        geo = self.geo
        interior = [g for g in w_segments(geo) if unrolled_w_taps(g) and not isinstance(g.count, int)]
        if len(interior) != 1:
            emit_rows()  # each step dispatches (_sweep)
            return
        w = geo.rank - 1
        kw_n, sw = geo.kernel[w], geo.strides[w]
        period = sweep_period(geo)
        count = index(interior[0].count)
        wide = scf.IfOp(
            arith.cmpi(arith.CmpIPredicate.sge, count, index(sweep_least_width(geo))), has_else=True
        )
        with ir.InsertionPoint(wide.then_block):
            steady = arith.subi(mul(count, sw), index(sw + kw_n - 2))
            rests = [r for r in sweep_rests(geo) if r]
            switch = scf.IndexSwitchOp([], arith.remui(steady, index(period)), rests)
            cases = [(r, switch.case_block(i)) for i, r in enumerate(rests)]
            if sw == 1:
                cases.insert(0, (0, switch.default_block))
            else:  # an odd count of steady columns
                with ir.InsertionPoint(switch.default_block):
                    scf.YieldOp([])
            for r, blk in cases:
                with ir.InsertionPoint(blk):
                    self.sweep_rest = r
                    emit_rows()
                    scf.YieldOp([])
            scf.YieldOp([])
        with ir.InsertionPoint(wide.else_block):
            self.sweep_rest = NARROW
            emit_rows()
            scf.YieldOp([])
        self.sweep_rest = None

    def _affords_copies(self) -> bool:
        """Whether a 2-D row sweep of run-time width that chains its columns
        (``_column_chain``) may copy its channel steps per case of a dispatch once per call
        (``_narrow_widths_dispatched`` at stride 1, ``_sweep_dispatched`` at stride 2). The
        copies cost code, so only where it stays well within the size limit
        (limits.DEFAULT_MAX_KERNEL_OPS): without padding, as 3-D (a padded kernel's border
        rows and blocks: 58,745 ops, 3x3 SAME with a bias and ReLU, C=12) and without a SiLU
        or hardswish epilogue (C=144 stride 2 with a bias and SiLU: 55,780 ops, 41,215
        without copies)."""
        geo = self.geo
        borderless = len(outer_groups(geo, 0)) == 1 and len(w_segments(geo)) == 1
        fused = self.em.epilogue
        cheap = fused is None or fused.epilogue.activation.kind not in ("silu", "hardswish")
        return (
            self.sweep
            and geo.rank == 2
            and geo.is_dynamic(1)
            and borderless
            and cheap
            and self._column_chain(geo.strides[-1], geo.kernel[-1])
        )

    def _dispatches_narrow_widths(self) -> bool:
        """Whether full channel steps dispatch on a run-time row width once per call
        (``_narrow_widths_dispatched``): at stride 1, when the copies are affordable. (Stride
        2 dispatches the rest of its sweep instead: its narrow rows are 4 and 5 outputs,
        which no bench layer has.)"""
        return self.geo.strides[-1] == 1 and self._affords_copies()

    def _narrow_widths_dispatched(self, emit_full: Callable[[], None]) -> None:
        """``emit_full()`` (the loop of full channel steps) once for each interior width whose
        sweep is one loop iteration long (5 to 7 outputs), as that static width
        (``sweep_width``), and once for every other width.

        A static kernel sweeps such rows straight, its column offsets made once per call
        (``_column_chain_sweep``); swept as a run-time width, each block of rows ran its loop
        once and chained every column's offset: MobileNetV2 7x7x960 at 128 / 2048 bits took
        1.07 / 1.09x the static kernel's instructions, 1.013 / 1.023 with this. Its rows go
        in blocks of at most NARROW_SWEEP_ROWS: the copies cost code (the run-time 56x56x144
        kernel: 28,000 ops without them, 36,800 with, 41,900 with blocks of 6 rows, for
        7x7x960 at 2048 bits 1.035 instead of 1.041). The masked tail step, once per call,
        keeps the run-time width."""
        geo = self.geo
        interior = [g for g in w_segments(geo) if unrolled_w_taps(g) and not isinstance(g.count, int)]
        if len(interior) != 1:
            emit_full()
            return
        w = geo.rank - 1
        kw_n, sw, period = geo.kernel[w], geo.strides[w], sweep_period(geo)
        widths = [
            x
            for x in range(sweep_least_width(geo), period * 2 // sw + kw_n)
            if _sweep_iterations(x, sw, kw_n, period) == 1
        ]
        switch = scf.IndexSwitchOp([], index(interior[0].count), widths)
        with ir.InsertionPoint(switch.default_block):
            emit_full()
            scf.YieldOp([])
        for i, x in enumerate(widths):
            with ir.InsertionPoint(switch.case_block(i)):
                self.sweep_width = x
                emit_full()
                self.sweep_width = None
                scf.YieldOp([])

    def _dispatched(self, emit_rows: Callable[[], None]) -> None:
        """``emit_rows()`` (the interior rows of a full channel step) once per value of the
        run-time interior width modulo the block width, so each row is a loop of full blocks
        and one static block for the rest, as in a static kernel (a dispatch per row cost
        1.4x the instructions of a static 7-wide row). Rows narrower than one single-row
        block are one block each, unpaired, as a static kernel has them. Elsewhere (border
        rows, the masked tail step) each row dispatches itself (``runtime_blocks``)."""
        geo = self.geo
        interior = [g for g in w_segments(geo) if unrolled_w_taps(g) and not isinstance(g.count, int)]
        modulus = block_cap(geo, block_rows(geo))
        if not interior or modulus == 1 or _COMPACT.get():
            emit_rows()
            return
        count = index(interior[0].count)
        wide = block_cap(geo, 1)
        if modulus < wide:
            narrow = scf.IfOp(arith.cmpi(arith.CmpIPredicate.slt, count, index(wide)), has_else=True)
            with ir.InsertionPoint(narrow.then_block):
                self._switch(count, wide, True, emit_rows)
                scf.YieldOp([])
            with ir.InsertionPoint(narrow.else_block):
                if geo.rank == 2 and geo.strides[-1] > 1 and self.relative_rows:
                    self._long_rows_apart(count, modulus, emit_rows)
                else:
                    self._switch(count, modulus, False, emit_rows)
                scf.YieldOp([])
        else:
            self._switch(count, modulus, False, emit_rows)
        self.w_rest, self.w_exact, self.w_modulus = None, False, 1

    def _long_rows_apart(self, count: ir.Value, modulus: int, emit_rows: Callable[[], None]) -> None:
        """Strided 2-D rows of run-time width: rows of at least LONG_STRIDED_ROWS outputs get
        their own copy, addressed from one base per input row and column of a block (hoisted
        out of the row's loop of blocks) plus the block's column offset, as LLVM's loop
        strength reduction does for a static kernel. Dynamic over static instructions per
        output at 128 bits: MobileNetV2 112x112x96 stride 2 1.056 -> 1.017, 56x56x144 stride 2
        1.058 -> 1.033, 57x57x32 stride 2 1.076 -> 1.041. Shorter rows do not amortize the
        bases: rows of 14 gain nothing, rows of 7 took 1.077 instead of 1.002."""
        long = scf.IfOp(arith.cmpi(arith.CmpIPredicate.sge, count, index(LONG_STRIDED_ROWS)), has_else=True)
        with ir.InsertionPoint(long.then_block):
            self.column_bases = True
            self._switch(count, modulus, False, emit_rows)
            self.column_bases = False
            scf.YieldOp([])
        with ir.InsertionPoint(long.else_block):
            self._switch(count, modulus, False, emit_rows)
            scf.YieldOp([])

    def _switch(self, count: ir.Value, modulus: int, exact: bool, emit_rows: Callable[[], None]) -> None:
        """``emit_rows()`` per value of ``count`` modulo ``modulus`` (``exact``: count is less
        than ``modulus``, so a row is that one block)."""
        self.w_modulus, self.w_exact = modulus, exact
        rest = count if exact else arith.remsi(count, index(modulus))
        widths = list(range(1, modulus))
        switch = scf.IndexSwitchOp([], rest, widths)
        for r, blk in ((0, switch.default_block), *((r, switch.case_block(i)) for i, r in enumerate(widths))):
            with ir.InsertionPoint(blk):
                self.w_rest = r
                emit_rows()
                scf.YieldOp([])

    def _make_step(self, n: Index, c0: ir.Value, mask: ir.Value | None) -> _Step:
        """A channel step: its filter taps loaded once when they fit in registers."""
        geo, em = self.geo, self.em
        taps = list(itertools.product(*(range(k) for k in geo.kernel)))
        hoisted = {}
        # With run-time sizes 3x3x3 taps are hoisted too: else LLVM hoisted their loads (and
        # spills) only out of the row loop, not the plane loop, which may run 0 times: 102
        # instructions per output plane instead of per channel step (dynamic / static, C=64,
        # 128 bits: 1.077 -> 1.010; 18x18x18x64 1.047 -> 0.992).
        swept_3d = self.sweep and geo.rank == 3  # each pass loads its own (_step)
        if not swept_3d and (
            len(taps) <= MAX_HOISTED_TAPS or (geo.runtime_sizes and geo.rank == 3 and len(taps) <= 27)
        ):
            hoisted = self._tap_pointers_read(c0, mask, taps)
            if hoisted is None:
                hoisted = {t: em.read(em.vt_in, em.filter, [*t, c0], mask) for t in taps}
        return _Step(n, c0, mask, hoisted, em.channel_params(c0, mask))

    def _packs(self) -> bool:
        """Whether this kernel packs two pixels into a vector of 2C lanes (``packs_pixels``):
        a plain sweep over every channel, through the flat output, whose columns chain. With
        run-time sizes, only without an epilogue: the copy takes 6,500 ops (C=8, run-time H
        and W: 42,714), and with a bias and ReLU6 it went over the size limit (52,898 ops,
        limits.DEFAULT_MAX_KERNEL_OPS)."""
        c = self.in_shape[-1]
        return (
            self.sweep
            and packs_pixels(self.geo, c)
            and not (self.geo.runtime_sizes and self.em.epilogue is not None)
            and self.em.channels == (0, c)
            and ir.MemRefType(self.em.filter.type).rank == 3
            and self._column_chain(PACKED_STRIDE, 3)
        )

    def _steps(
        self, n: Index, band: Segment | None, narrow: Callable[[Callable[[], None]], None] | None = None
    ) -> None:
        """Every channel step of batch entry ``n``, over the rows of ``band`` if given; in the
        packed branch of ``_packed_or``, the one packed step."""
        if self.packed:
            self._step(n, index(0), None, band)
        else:
            self.em.channel_steps(lambda c0, mask: self._step(n, c0, mask, band), narrow)

    def _packed_or(self, emit_all: Callable[[], None]) -> None:
        """``emit_all()``; in a kernel that packs pixels (``_packs``) also a second time,
        packed, taken when the vector has 2C lanes at run time. Each copy has its own bands
        around its steps: a branch per band moved LLVM's code for the other vector lengths
        (112x112x32 at 1024 bits +0.1 %).

        Packed, a vector holds output pixels w and w + 1, whose input vectors at tap kw are
        pixels w + kw and w + kw + 1: contiguous, one load. Along W that is a stride-2 sweep
        of pixel columns, each column a C-channel offset on from the one before, each output
        column 2C: ``_sweep`` with ``packed`` set. The taps (and the epilogue's bias and
        scale) hold their C channels twice (``_packed_step``)."""
        if not self._packs():
            emit_all()
            return
        lanes = index(2 * self.in_shape[-1])
        packs = arith.cmpi(arith.CmpIPredicate.eq, self.em.vector_length(), lanes)
        width = self.geo.out_spatial[-1]
        if not isinstance(width, int):  # even, and as wide as a stride-2 sweep's least in pairs
            even = arith.cmpi(arith.CmpIPredicate.eq, arith.andi(width, index(1)), index(0))
            least = 2 * sweep_least_width(self.geo, PACKED_STRIDE)
            wide = arith.cmpi(arith.CmpIPredicate.sge, width, index(least))
            packs = arith.andi(packs, arith.andi(even, wide))
        branch = scf.IfOp(packs, has_else=True)
        with ir.InsertionPoint(branch.then_block):
            self.packed = True
            try:
                emit_all()
            finally:
                self.packed = False
            scf.YieldOp([])
        with ir.InsertionPoint(branch.else_block):
            emit_all()
            scf.YieldOp([])

    def _column_stride(self) -> int:
        """Input columns per output column of a 2-D sweep: the W stride, or a packed sweep's
        PACKED_STRIDE."""
        return PACKED_STRIDE if self.packed else self.geo.strides[-1]

    def _packed_step(self, n: Index) -> _Step:
        """The one step of a packed sweep: taps and epilogue vectors read for the C channels
        (the first half of the lanes) and spliced after themselves."""
        em = self.em
        half = vector.create_mask(em.vt_mask, [index(self.in_shape[-1])])
        step = self._make_step(n, index(0), half)

        def twice(v: ir.Value | None) -> ir.Value | None:
            if v is None:
                return None
            return llvm.call_intrinsic(v.type, "llvm.aarch64.sve.splice", [half, v, v], [], [])

        bias, scale = twice(step.params.bias), twice(step.params.scale)
        params = dataclasses.replace(step.params, bias=bias, scale=scale)
        hoisted = {t: twice(v) for t, v in step.hoisted.items()}
        return dataclasses.replace(step, mask=None, hoisted=hoisted, params=params)

    def _tap_pointers_read(
        self, c0: ir.Value, mask: ir.Value | None, taps: list[tuple[int, ...]]
    ) -> dict[tuple[int, ...], ir.Value] | None:
        """A 2-D sweep's taps read as its input is (``_column_chain_sweep``): a pointer per
        filter row plus the column's offset, made once per function, rather than a constant
        per tap built with a ``mov`` in every step (or every band of a step). Instructions
        at 128 / 2048 bits: MobileNetV2 56x56x144 -0.08 / -0.06 %, 28x28x192 -0.07 / -0.08 %,
        14x14x576 stride 2 -0.4 %; 7x7x960 +0.3 %. None where the filter is not a dense f32
        buffer with a static offset."""
        geo, em = self.geo, self.em
        ft = ir.MemRefType(em.filter.type)
        if not (
            self.sweep
            and geo.rank == 2
            and dense_layout(ft)  # not a view: a ring's rotated taps ran blocks 2 and 3 0.2-0.8 % more
            and _f32_addressable(em.filter)
            and em.vt_in.element_type == ir.F32Type.get()
        ):
            return None
        flat = collapse_trailing(em.filter, ft.rank)
        kh_n, kw_n = geo.kernel
        c = ft.shape[-1]
        base = add(_byte_address(flat), mul(c0, 4))
        i64 = ir.IntegerType.get_signless(64)
        offs = [arith.index_cast(i64, v) for v in self._entry_offsets(0, c, kw_n)]
        rows = [_as_pointer(add(base, kh * kw_n * c * 4)) for kh in range(kh_n)]
        return {(kh, kw): _load_at(em.vt_in, rows[kh], offs[kw], mask) for kh, kw in taps}

    def _step(self, n: Index, c0: ir.Value, mask: ir.Value | None, band: Segment | None = None) -> None:
        """One channel step over every output row, or over the rows of the first outer dim in
        ``band`` (emit's bands)."""
        geo = self.geo
        step = self._packed_step(n) if self.packed else self._make_step(n, c0, mask)
        pair_full = pair_rows(geo) and mask is None
        height = block_rows(geo)
        if self.sweep:  # a tail step's multiply-adds take its mask, which keeps them tied
            step = dataclasses.replace(step, pred=self._opaque_true() if mask is None else mask)
            pair_full, height = True, sweep_rows(geo)
            if self.sweep_width is not None and mask is None:
                height = min(height, NARROW_SWEEP_ROWS)
            if self.packed:
                height = PACKED_SWEEP_ROWS
        groups = [outer_groups(geo, j) for j in range(geo.rank - 1)]
        if band is not None:
            groups[0] = [band]

        def run(step: _Step, height: int) -> None:
            """Every combination of outer segments (in a 3-D sweep's second pass only those
            with every tap in bounds)."""
            for combo in itertools.product(*groups):

                def outputs(level: int, o_idx: list[Index], combo=combo) -> None:
                    pair = pair_full and not self.w_exact
                    if level == len(combo):
                        self._row(step, combo, o_idx, 1)
                        return
                    g = combo[level]
                    if (
                        level == len(combo) - 1
                        and g.kmin <= g.kmax
                        and pair
                        and not isinstance(g.count, int)
                        and g.multiple_of % height == 0 < g.multiple_of
                    ):  # a band of run-time height, whole blocks (_band_height)
                        loop_step(
                            g.start,
                            add(g.start, g.count),
                            height,
                            lambda o: self._row(step, combo, [*o_idx, o], height),
                        )
                        return
                    if level == len(combo) - 1 and g.kmin <= g.kmax and pair and not isinstance(g.count, int):
                        # A run-time number of rows: blocks of ``height`` rows, then the rest.
                        self._runtime_rows(step, combo, o_idx, g, height)
                        return
                    if (
                        level == len(combo) - 1
                        and g.kmin <= g.kmax
                        and pair
                        and isinstance(g.count, int)
                        and g.count >= ROWS
                    ):
                        # Rows of the innermost outer dim go in blocks: they share input rows.
                        # Balanced (7 rows in blocks of at most 3 are 2 + 2 + 3, not 3 + 3 + 1),
                        # a lone block first: its addresses are constants, the smallest there (a
                        # pair after four blocks of 3 rows of 14x14x576 built 20 of its 24 input
                        # offsets with a mov and a movk; MobileNetV2 14x14x576 stride 2, whose
                        # odd row now leads: 0.957x the instructions).
                        start = g.start
                        for rows, cnt in sorted(block_widths(g.count, height), key=lambda rc: rc[1]):
                            if cnt == 1:
                                self._row(step, combo, [*o_idx, start], rows)
                            else:
                                loop_step(
                                    start,
                                    add(start, cnt * rows),
                                    rows,
                                    lambda o, rows=rows: self._row(step, combo, [*o_idx, o], rows),
                                )
                            start = add(start, cnt * rows)
                        return
                    if level == len(combo) - 1 and g.kmin <= g.kmax and self._carries_rows(step, g.count):
                        self._carried_rows(
                            step,
                            o_idx,
                            g.start,
                            add(g.start, g.count),
                            1,
                            lambda o: outputs(level + 1, [*o_idx, o]),
                        )
                        return
                    loop(g.start, g.count, None, lambda o, _: outputs(level + 1, [*o_idx, o]))

                interior = all(
                    (g.kmin, g.kmax) == (0, k - 1) for g, k in zip(combo, geo.kernel, strict=False)
                )
                if self._summing_pass and not interior:
                    continue
                inside = self.w_rest is None  # else emit dispatched around the channel steps
                if (
                    mask is None
                    and interior
                    and geo.is_dynamic(geo.rank - 1)
                    and step.pred is None
                    and inside
                ):
                    self._dispatched(lambda combo=combo: outputs(0, [], combo))
                else:
                    outputs(0, [])

        if not (self.sweep and geo.rank == 3):
            run(step, height)
            return
        # A 3-D sweep: the 18 taps of kd = 0 and 1 over every row (the outputs with a tap out of
        # bounds complete, in blocks), then the 9 of kd = 2 added to the swept interior.
        for planes, rows in sweep_passes_3d(geo):
            self.sweep_planes = planes
            taps = itertools.product(planes, range(geo.kernel[1]), range(geo.kernel[2]))
            hoisted = {t: self.em.read(self.em.vt_in, self.em.filter, [*t, c0], mask) for t in taps}
            run(dataclasses.replace(step, hoisted=hoisted), rows)
        self.sweep_planes = None

    def _runtime_rows(self, step: _Step, combo, o_idx: list[Index], g: Segment, height: int) -> None:
        """A run-time number ``g.count`` of rows from ``g.start``: blocks of ``height`` rows,
        then one block of the rest. (The rest first, as the static plan has it, moved dynamic
        over static by -1 to +1 % depending on the kernel, LLVM's register allocation more
        than the addresses; not kept.) Row sweeps balance a rest of 1 or 2 rows with the last
        full block, as the static plan does (7 rows: 4 + 3, not 6 + 1; a 1-row sweep loads 3
        input vectors per output)."""
        row = lambda o, rows: self._row(step, combo, [*o_idx, o], rows)  # noqa: E731
        full = mul(arith.floordivsi(index(g.count), index(height)), height)
        end = add(g.start, full)
        if height == ROWS:
            loop_step(g.start, end, height, lambda o: row(o, height))
            odd = scf.IfOp(arith.cmpi(arith.CmpIPredicate.ne, index(full), index(g.count)))
            with ir.InsertionPoint(odd.then_block):
                row(end, 1)
                scf.YieldOp([])
            return
        rest = arith.subi(index(g.count), index(full))
        balance = step.pred is not None and height > 3
        loop_end = end
        if balance:
            small = arith.cmpi(arith.CmpIPredicate.ule, rest, index(2))
            has_full = arith.cmpi(arith.CmpIPredicate.sge, index(full), index(height))
            some = arith.cmpi(arith.CmpIPredicate.ne, rest, index(0))
            borrow = arith.andi(arith.andi(small, some), has_full)
            loop_end = arith.select(borrow, arith.subi(index(end), index(height)), index(end))
        loop_step(g.start, loop_end, height, lambda o: row(o, height))
        heights = list(range(1, height))
        switch = scf.IndexSwitchOp([], rest, heights)
        with ir.InsertionPoint(switch.default_block):
            scf.YieldOp([])
        for i, rows in enumerate(heights):
            with ir.InsertionPoint(switch.case_block(i)):
                if balance and rows <= 2:
                    two = scf.IfOp(has_full, has_else=True)
                    with ir.InsertionPoint(two.then_block):
                        first = (height + rows + 1) // 2
                        row(loop_end, first)
                        row(add(loop_end, first), height + rows - first)
                        scf.YieldOp([])
                    with ir.InsertionPoint(two.else_block):
                        row(end, rows)
                        scf.YieldOp([])
                else:
                    row(end, rows)
                scf.YieldOp([])

    def _row(self, step: _Step, combo: tuple[Segment, ...], o_idx: list[Index], rows: int) -> None:
        """The W segments of ``rows`` output rows from ``o_idx``, in blocks of balanced widths."""
        geo = self.geo
        cap = block_cap(geo, rows)
        if geo.rank > 1:
            # The last input pixel these rows read: the end of their last input row.
            last = [*o_idx[:-1], affine(o_idx[-1], 1, 0, 1, rows - 1)]
            row_hi = [self._last_input(j, o) for j, o in enumerate(last)]
            self._guarded(
                step,
                [*row_hi, sub(geo.in_spatial[-1], 1)],
                lambda st: self._segments(st, combo, o_idx, rows, cap),
            )
        else:
            self._segments(step, combo, o_idx, rows, cap)

    def _swept_segment(self, step: _Step, combo, o_idx: list[Index], rows: int, seg: Segment) -> None:
        """W segment ``seg`` of a swept row (every tap in bounds). A run-time width is swept
        when its steady columns are not negative (at least K - 1 wide at stride 1), else it
        runs one block per column; a kernel may have decided which once per call
        (``sweep_rest``, ``_sweep_dispatched``)."""
        geo = self.geo
        w = geo.rank - 1
        s, d, pad = geo.strides[w], geo.dilations[w], geo.pad_lo[w]
        if self.packed:  # as wide as its least (_packed_or)
            self._sweep(step, o_idx, rows, seg)
            return
        if self.sweep_width is not None and step.mask is None:
            self._sweep(step, o_idx, rows, Segment(seg.start, self.sweep_width, seg.kmin, seg.kmax))
            return
        if isinstance(seg.count, int) or self.sweep_rest not in (None, NARROW):
            self._sweep(step, o_idx, rows, seg)
            return

        def narrow() -> None:
            if self._summing_pass:
                return  # the first pass completed these outputs
            if geo.rank == 1:
                loop(
                    seg.start,
                    seg.count,
                    None,
                    lambda ow, _: self._guarded(
                        step,
                        [affine(ow, s, 0, 0, seg.kmax * d - pad)],
                        lambda st: self._block(st, combo, o_idx, rows, seg, ow, 1),
                    ),
                )
                return
            one = scf.IfOp(arith.cmpi(arith.CmpIPredicate.eq, index(seg.count), index(1)))
            with ir.InsertionPoint(one.then_block):
                self._block(step, combo, o_idx, rows, seg, seg.start, 1)
                scf.YieldOp([])

        if self.sweep_rest == NARROW:
            narrow()
            return
        least = index(sweep_least_width(geo))
        wide = scf.IfOp(arith.cmpi(arith.CmpIPredicate.sge, index(seg.count), least), has_else=True)
        with ir.InsertionPoint(wide.then_block):
            self._sweep(step, o_idx, rows, seg)
            scf.YieldOp([])
        with ir.InsertionPoint(wide.else_block):
            narrow()
            scf.YieldOp([])

    def _segments(self, step: _Step, combo, o_idx: list[Index], rows: int, cap: int) -> None:
        geo = self.geo
        w = geo.rank - 1
        s, d, pad = geo.strides[w], geo.dilations[w], geo.pad_lo[w]
        for seg in w_segments(geo):
            if step.pred is not None and self._unrolled(combo, seg):
                self._swept_segment(step, combo, o_idx, rows, seg)
                continue
            if self._summing_pass:
                continue  # the first pass completed this segment
            if not unrolled_w_taps(seg):  # a wide border or a long filter: one column, looped taps
                loop(
                    seg.start,
                    seg.count,
                    None,
                    lambda ow, _: self._dynamic_block(step, combo, o_idx, rows, ow),
                )
                continue

            def block(ow0: Index, width: int, seg: Segment = seg) -> None:
                if geo.rank > 1:
                    self._block(step, combo, o_idx, rows, seg, ow0, width)
                    return
                col_hi = affine(ow0, s, 0, 0, (width - 1) * s + seg.kmax * d - pad)
                self._guarded(step, [col_hi], lambda st: self._block(st, combo, o_idx, rows, seg, ow0, width))

            if not isinstance(seg.count, int):
                if self.w_exact:  # the whole interior is one block
                    if self.w_rest:
                        block(seg.start, self.w_rest)
                elif self.w_rest is not None:
                    runtime_blocks(seg.start, seg.count, min(cap, self.w_modulus), block, self.w_rest)
                else:
                    # Rows with a border in an outer dim are few: their rests compact.
                    compact = _COMPACT.get() or not self._unrolled(combo, seg)
                    runtime_blocks(seg.start, seg.count, cap, block, compact=compact)
                continue
            start = seg.start
            for width, count in block_widths(seg.count, cap, lone_wide=geo.rank != 3):
                if count == 1:
                    block(start, width)
                else:
                    loop_step(
                        start, start + count * width, width, lambda o, w=width: block(o, w), unroll=False
                    )
                start += count * width

    def _unmapped(self, what: str) -> None:
        """Only ``_sweep`` reads input rows through the emitter's ``row_map``."""
        if self.em.row_map is not None:
            raise InternalError(f"{what} cannot read a ring's rows through a row map")

    def _opaque_true(self) -> ir.Value:
        """An all-true predicate of the accumulator's lanes that LLVM cannot prove all-true.

        SVE's FMLA is destructive: the accumulator is also the result. Given an all-true
        predicate, LLVM selects its untied pseudo instead, which the register allocator
        places anywhere and then repairs with a ``movprfx`` per multiply-add; around a loop
        carrying accumulators that was 38 ``movprfx`` and 27 spills per 18 output vectors (a
        6-row sweep written in LLVM IR; with this predicate: none). An empty inline asm
        hides it, as ``bench/dw_sweep.h`` does in C. (A tail step's mask is not all-true, and
        serves as is.)

        In 1-D and 2-D it is made once per function, at its entry, as a whole predicate
        (``svbool_t``, which the asm passes as it is) converted to the lanes': made in every
        channel step as a predicate of the lanes, it cost a ``mov`` and two ``punpklo`` per
        step (MobileNetV2 28x28x192 at 128 bits -0.16 %, 7x7x960 -0.46 %). 3-D sweeps keep
        one per step: the same instructions (3x3x3 C=32: 0.9846 / 0.9848x ``acle_rb``), and
        the entry's cost 5-10 % of their compile time."""
        if self.geo.rank == 3:  # per step: the same count, and 5-10 % less compile time
            i1 = ir.IntegerType.get_signless(1)
            pt = ir.VectorType.get([self.em.lanes], i1, scalable=[True])
            pattern = arith.constant(ir.IntegerType.get_signless(32), 31)  # SV_ALL
            ptrue = llvm.call_intrinsic(pt, "llvm.aarch64.sve.ptrue", [pattern], [], [])
            return llvm.inline_asm(pt, [ptrue], "", "=@3Upa,0")
        entry = _entry_block()
        made = next((v for b, v in self._entry_true if b == entry), None)
        if made is not None:
            return made
        i1 = ir.IntegerType.get_signless(1)
        with ir.InsertionPoint.at_block_begin(entry):
            svbool = ir.VectorType.get([16], i1, scalable=[True])
            pattern = arith.constant(ir.IntegerType.get_signless(32), 31)  # SV_ALL
            ptrue = llvm.call_intrinsic(svbool, "llvm.aarch64.sve.ptrue", [pattern], [], [])
            hidden = llvm.inline_asm(svbool, [ptrue], "", "=@3Upa,0")
            pt = ir.VectorType.get([self.em.lanes], i1, scalable=[True])
            made = llvm.call_intrinsic(pt, "llvm.aarch64.sve.convert.from.svbool", [hidden], [], [])
        self._entry_true.append((entry, made))
        return made

    def _entry_offsets(self, first: int, step: int, count: int) -> list[ir.Value]:
        """``first``, ``first + step``, ... (``count`` of them), each through an empty asm
        (``_opaque_index``), made once per function at its entry: the offsets of a sweep's
        static columns (``_column_chain_sweep``), the same in every channel step."""
        entry = _entry_block()
        made = next((v for b, k, v in self._entry_offsets_made if b == entry and k == (first, step)), None)
        if made is None:
            made = []
            self._entry_offsets_made.append((entry, (first, step), made))
        while len(made) < count:
            where = (
                ir.InsertionPoint.at_block_begin(entry)
                if not made
                else ir.InsertionPoint.after(made[-1].owner)
            )
            with where:
                made.append(opaque_index(first if not made else arith.addi(made[-1], index(step))))
        return made[:count]

    def _sweep(self, step: _Step, o_idx: list[Index], rows: int, seg: Segment) -> None:
        """``rows`` output rows of W segment ``seg`` (every tap in bounds) swept along W, the
        register-level structure of the strongest hand-written kernels (issue 12).

        Input column ``t`` of the segment is loaded once per input row of the block, and
        each vector feeds every tap of every output that reads it: at stride 1, tap kw = 2
        of output column t - 2, which is then complete and stored, kw = 1 of column t - 1,
        and kw = 0 of column t, which it starts (a multiply); at stride 2, an even column
        finishes one output column and starts the next, an odd one continues it. Per output
        vector at stride 1: 9 multiply-adds, (rows + 2) / rows loads and one store, against
        9, 2.5 and 1 for a 3 x 4 block. The steady columns run in a loop of ``period``
        columns, after which the carried sets are back in the registers they left (the
        multiply-adds tied to them: ``_opaque_true``).

        The accumulators are tracked by output column relative to a frame: the loop's k-th
        iteration is the first one shifted by k periods, so its bookkeeping is the first's
        and only the addresses move.

        A 3-D pass (``sweep_planes``) is this sweep over the input rows of each of its planes
        kd, with the taps of those planes; the first pass stores its sums as they are, the
        second starts each output from them."""
        em, geo = self.em, self.geo
        pred, w = step.pred, step.hoisted
        one_d = geo.rank == 1  # a row of K taps (``sweeps``); else 3 x 3 (x 3)
        sh, sw = (1, geo.strides[0]) if one_d else (geo.strides[-2], self._column_stride())
        kh_n, kw_n = (1, geo.kernel[0]) if one_d else geo.kernel[-2:]
        width, seg_start = seg.count, seg.start
        if self.packed:  # two pixels per output column
            pixels = seg.count
            width = pixels // 2 if isinstance(pixels, int) else arith.divui(index(pixels), index(2))
        c = self.in_shape[-1]
        flat = self.flat_input  # sweeping kernels have it
        pad_h, pad_w = (0, geo.pad_lo[0]) if one_d else geo.pad_lo[-2:]
        iw0 = affine(seg_start, sw, 0, 0, -pad_w)
        planes = self.sweep_planes or (None,)  # 3-D: the pass's kd; else one plane of rows
        plane_rows = (rows - 1) * sh + kh_n
        in_rows = len(planes) * plane_rows
        # feeds[i]: each output row that input row i feeds, with the key of the tap (without
        # kw); last_feed[r]: the last input row feeding output row r.
        feeds: list[list[tuple[int, tuple[int, ...]]]] = []
        for kd in planes:
            for i in range(plane_rows):
                if one_d:
                    feeds.append([(0, ())])
                    continue
                khs = [(r, i - r * sh) for r in range(rows) if 0 <= i - r * sh < kh_n]
                feeds.append([(r, (kh,) if kd is None else (kd, kh)) for r, kh in khs])
        last_feed = {
            r: max(i for i, f in enumerate(feeds) if any(fr == r for fr, _ in f)) for r in range(rows)
        }
        prefix = list(o_idx[:-1])  # a 3-D block's output plane

        def row_start(i: int, col: Index = iw0, channel: bool = True) -> ir.Value:
            if one_d:
                return self._flat_start(step, [], col, channel)
            kd, row = planes[i // plane_rows], i % plane_rows
            outer = [affine(o_idx[-1], sh, 0, 0, row - pad_h)]
            if em.row_map is not None:  # a ring's rows (``expand``): the row's slot
                outer = [em.row_map(outer[0])]
            if kd is not None:
                outer = [affine(o_idx[0], 1, 0, 0, kd - geo.pad_lo[0]), *outer]
            return self._flat_start(step, outer, col, channel)

        period = sweep_period(geo, sw)  # columns per loop iteration: the carried sets come back
        chain = self._column_chain(sw, kw_n, rows)
        straight = chain and isinstance(width, int) and _sweep_iterations(width, sw, kw_n, period) <= 1
        by_parity: list[list[Index]] = []
        if chain:
            # Stride 1: rows from the first steady column, whose offset is then that of the
            # output column it finishes (``_column_chain_sweep``). Stride 2: rows per column
            # parity, the odd ones a column on (one add each). Byte addresses: the step's
            # channel offset once, then each row's address the one before plus the row stride
            # through an empty asm, one add per row, static sizes too: with each row's own
            # offset LLVM hoisted the offsets out of the channel loop (of a band), spilled them
            # and reloaded them per block (128 bits: 7x7x960 -1.1 %, 14x14x576 stride 2 -3.4 %,
            # 28x28x192 -0.5 %). A straight sweep's rows are also made where they stand: else
            # LLVM merged them with the other blocks' and hoisted them (7x7x960 at 128 bits:
            # 157,971 -> 155,080 instructions, before the chain).
            firsts = [kw_n - 1] if sw == 1 else list(range(sw))
            in_base = add(_byte_address(flat), mul(step.c0, 4))
            row_bytes = index(mul(self._flat_stride(geo.rank - 2), 4))
            by_parity.append([add(in_base, mul(row_start(0, add(iw0, firsts[0]), channel=False), 4))])
            for i in range(1, in_rows):
                if em.row_map is not None:  # slots in any order: each row's own address
                    at = add(in_base, mul(row_start(i, add(iw0, firsts[0]), channel=False), 4))
                    by_parity[0].append(opaque_index(at))
                    continue
                if i % plane_rows:
                    nxt = arith.addi(by_parity[0][-1], row_bytes)
                else:  # a 3-D pass's next plane
                    nxt = arith.addi(by_parity[0][i - plane_rows], index(mul(self._flat_stride(0), 4)))
                by_parity[0].append(opaque_index(nxt))
            for f in firsts[1:]:
                by_parity.append([add(v, (f - firsts[0]) * 4 * c) for v in by_parity[0]])
            if straight:
                by_parity = [[opaque_index(v, side_effects=True) for v in vs] for vs in by_parity]
            by_parity = [[_as_pointer(v) for v in vs] for vs in by_parity]
            starts = by_parity[0]
        elif not one_d and isinstance(o_idx[-1], int):
            # A lone block of rows (static first row): LLVM folds its row and column offsets
            # into one constant per load, built with a mov and a movk each. One register per
            # input row instead: MobileNetV2 14x14x576 stride 2 5.47 -> 4.72 instructions per
            # output at 128 bits, 7x7x960 (swept) 4.97 -> 4.20.
            starts = [opaque_index(row_start(i)) for i in range(in_rows)]
        elif self.chained_rows:
            # With run-time sizes, each row's start is the previous one's plus the row stride,
            # one add per input row and channel step. Computed from the row index, LLVM hoisted
            # the row offsets of every block out of the channel loop, spilled them and
            # reloaded them in every step (dynamic / static at 2048 bits: MobileNetV2 14x14x576
            # stride 2 1.094 -> 1.067, 28x28x192 stride 2 1.065 -> 1.047). Static 3-D sweeps
            # too (``chained_rows``).
            row_stride = index(self._flat_stride(geo.rank - 2))
            starts = [row_start(0)]
            for i in range(1, in_rows):
                if i % plane_rows:
                    starts.append(opaque_index(arith.addi(starts[-1], row_stride)))
                else:  # the next plane's first row
                    plane_stride = index(self._flat_stride(0))
                    starts.append(opaque_index(arith.addi(starts[i - plane_rows], plane_stride)))
        else:
            starts = [row_start(i) for i in range(in_rows)]
        outs = [] if one_d else [affine(o_idx[-1], 1, 0, 1, r) for r in range(rows)]
        # A chained sweep's output rows are chained as its input rows are, in a flat view of
        # the output: each row's start is the previous one's plus the row stride.
        out_flat, out_starts = self.flat_out, []
        if out_flat is not None:
            out_shape = self.em.out_dims
            out_row_stride = index(functools.reduce(mul, out_shape[-2:]))

            def out_start(r: int, channel: bool = True) -> ir.Value:
                pixel = arith.muli(
                    index(linear([step.n, *prefix, outs[r], seg_start], out_shape[:-1])), index(c)
                )
                return arith.addi(pixel, step.c0) if channel else pixel

            if chain:  # byte addresses, chained as the input's are
                out_base = add(_byte_address(out_flat), mul(step.c0, 4))
                out_starts = [add(out_base, mul(out_start(0, channel=False), 4))]
                for _ in range(1, rows):
                    out_starts.append(opaque_index(arith.addi(out_starts[-1], mul(out_row_stride, 4))))
                out_starts = [_as_pointer(v) for v in out_starts]
            else:
                out_starts = [out_start(0)]
                for r in range(1, rows):
                    if self.chained_rows:
                        out_starts.append(opaque_index(arith.addi(out_starts[-1], out_row_stride)))
                    else:
                        out_starts.append(out_start(r))
        # The first pass of a 3-D sweep stores sums without the epilogue; the second starts
        # from them.
        partial = planes[0] == 0
        from_sums = self._summing_pass
        rmask = None if step.unmasked_input else step.mask

        dest = em.out if out_flat is None else out_flat

        def fma(acc: ir.Value, x: ir.Value, tap: ir.Value) -> ir.Value:
            return llvm.call_intrinsic(em.vt, "llvm.aarch64.sve.fmla", [pred, acc, x, tap], [], [])

        def column(
            t: int,
            shift: tuple[Index, Index],
            live: dict[int, Accs],
            last: int | None,
            offsets: tuple[ir.Value, ir.Value | None] | None = None,
            bases: tuple[ir.Value, ir.Value] | None = None,
        ) -> dict[int, Accs]:
            """Input column ``t`` of the frame ``shift`` (input and output columns) on;
            ``live``: the accumulators of the frame's output columns started and not
            finished. Output columns from ``last`` on (None: none) are not started.
            ``offsets``: in a column chain, the column's input offset from its rows'
            pointers, and that of the output column it finishes (``_column_chain_sweep``);
            ``bases``: a 1-D chain's input and output pointers of this column, for its one
            row (``_column_chain_sweep_1d``)."""
            live = {o: list(a) for o, a in live.items()}
            taps = []  # (output column, kw) this input column feeds
            for kw in range(kw_n):
                if (t - kw) % sw or t < kw:
                    continue
                o = (t - kw) // sw
                if o in live or (kw == 0 and (last is None or o < last)):
                    taps.append((o, kw))
                    live.setdefault(o, [None] * rows)

            # Masked loads and stores (a tail step) take a register offset only as an element
            # index, scaled by 4 (``ld1w``/``st1w [x, x, lsl #2]``). LLVM folds the column
            # offset times 4 into a byte offset, and then adds it to each row's base on its
            # own: 8 adds per 137 instructions in the loop of 57x57x32 stride 2's tail step
            # (C=32 at 2048 bits). Through an empty asm the offset stays an index that every
            # row's access takes. 2048 bits: 57x57x32 stride 2 -8.8 %, 112x112x32 -7 %, 3-D
            # C=32 -11 %; 56x56x144 at 1024 and 2048 bits -2 to -3 %. A 3-D pass's static
            # columns take offsets made once per function, as its full steps' constants are:
            # each of its own cost a mov in every block (3x3x3 C=32 at 2048 bits, a tail step
            # only: 20,812 -> 20,676 instructions).
            def hidden(col: Index) -> Index:
                """Column ``col``'s offset through an empty asm; a 3-D pass's static ones
                made once per function."""
                if planes[0] is not None and isinstance(col, int):
                    return self._entry_offsets(0, c, col + 1)[col]
                return opaque_index(mul(col, c))

            row_starts = starts
            if offsets is not None:
                off, row_starts = offsets[0], ([bases[0]] if bases else by_parity[t % sw])
            elif rmask is not None:
                off = hidden(affine(shift[0], 1, 0, 0, t))
            else:
                off = mul(affine(shift[0], 1, 0, 0, t), c)
            cols: dict[int, Index] = {}

            def at(o: int, r: int) -> list[Index]:
                if out_flat is not None:
                    if o not in cols:
                        col = affine(shift[1], 1, 0, 1, o)
                        cols[o] = mul(col, c) if step.mask is None else hidden(col)
                    return [add(out_starts[r], cols[o])]
                col = affine(shift[1], 1, seg_start, 1, o)
                return [step.n, col, step.c0] if one_d else [step.n, *prefix, outs[r], col, step.c0]

            for ir_ in range(in_rows):
                x = None
                for o, kw in taps:
                    for r, pre in feeds[ir_]:
                        if x is None and offsets is not None:
                            x = _load_at(em.vt_in, row_starts[ir_], off, rmask)
                        elif x is None:
                            x = em.read(em.vt_in, flat, [add(row_starts[ir_], off)], rmask)
                        acc, tap = live[o][r], w[(*pre, kw)]
                        if acc is None and from_sums:
                            acc = em.read(em.vt, dest, at(o, r), step.mask)
                        live[o][r] = arith.mulf(x, tap) if acc is None else fma(acc, x, tap)
                        if kw == kw_n - 1 and ir_ == last_feed[r]:  # its last tap
                            if offsets is not None:
                                done = live[o][r] if partial else em.epilogued(live[o][r], step.params)
                                _store_at(done, bases[1] if bases else out_starts[r], offsets[1], step.mask)
                            elif partial:
                                em.write(live[o][r], dest, at(o, r), step.mask)
                            else:
                                em.store(live[o][r], step.params, dest, at(o, r), step.mask)
            return {o: a for o, a in live.items() if o * sw + kw_n - 1 != t}

        def edge(
            t: int, shift: tuple[Index, Index], live: dict[int, Accs], last: int | None
        ) -> dict[int, Accs]:
            """``column`` outside the loop. In 3-D each is fenced off from the next (an empty
            asm that may touch memory): else LLVM's scheduler issued the 16 loads of the two
            columns before the loop together, beside 18 taps, and spilled 22 of them
            (18x18x18x64 at 128 bits: 10.47 -> 9.87 instructions per output)."""
            live = column(t, shift, live, last)
            if planes[0] is not None:
                llvm.inline_asm(None, [], "", "~{memory}", has_side_effects=True)
            return live

        static = isinstance(width, int)
        live: dict[int, Accs] = {}
        t0 = kw_n - 1  # the first steady column: every tap of a steady column feeds an output
        if chain:
            self._column_chain_sweep(column, width, sw, t0, period, c, rows)
            return
        cols = self._column_pointers(step, iw0, seg_start, t0, period) if one_d else None
        if cols is not None:
            self._column_chain_sweep_1d(column, cols, width, t0, period, c)
            return
        for t in range(t0):
            live = edge(t, (0, 0), live, width if static else None)
        # Steady columns: t0 .. (width - 1) * sw (the last that starts an output).
        if static:
            iters = _sweep_iterations(width, sw, kw_n, period)
        else:
            steady = arith.subi(mul(index(width), sw), index(sw + kw_n - 2))
            iters = arith.divui(steady, index(period))  # steady >= 0 (_swept_segment)
        if not static or iters:
            keys = sorted(live)
            # A loop run once is deleted, and the whole sweep becomes one basic block that
            # LLVM's scheduler interleaves until it spills (7x7x960: 49 vector reloads per
            # channel step; kept a loop, 4.20 -> 3.86 instructions per output).
            trips = opaque_index(iters) if static and iters == 1 else iters
            for_op = scf.ForOp(index(0), index(trips), index(1), [a for o in keys for a in live[o]])
            no_unroll(for_op)
            with ir.InsertionPoint(for_op.body):
                k = for_op.induction_variable
                args = list(for_op.inner_iter_args)
                st = {o: args[i * rows : (i + 1) * rows] for i, o in enumerate(keys)}
                for j in range(period):
                    st = column(t0 + j, (mul(k, period), mul(k, period // sw)), st, None)
                # The sets are the first iteration's, ``period // sw`` output columns on.
                scf.YieldOp([a for o in keys for a in st[o + period // sw]])
            res = list(for_op.results)
            live = {o: res[i * rows : (i + 1) * rows] for i, o in enumerate(keys)}
        if static:
            shift = (iters * period, iters * period // sw)
            frame_width = width - shift[1]
            for t in range(t0, (frame_width - 1) * sw + kw_n):
                live = edge(t, shift, live, frame_width)
            return
        # The rest of the steady columns (fewer than a period; at stride 2 an odd number),
        # then the columns that only finish outputs.
        if self.sweep_rest is not None and one_d:
            # Through an empty asm, so that LLVM computes the last frame's addresses in the
            # step, not once per call to reload them in every step (K=7, C=64 at 2048 bits,
            # one channel step: dynamic / static 1.059 -> 1.049).
            iters = opaque_index(iters)
        shift = (mul(iters, period), mul(iters, period // sw))

        def finish(frame_width: int) -> None:
            st = live
            for t in range(t0, (frame_width - 1) * sw + kw_n):
                st = edge(t, shift, st, frame_width)

        self._finish_rest(arith.subi(steady, shift[0]), finish)

    def _finish_rest(self, rest: ir.Value, finish: Callable[[int], None]) -> None:
        """The columns after a run-time sweep's loop: ``finish(frame_width)`` for the rest of
        its steady columns modulo the loop's period, the run-time ``rest``, that frame
        ``frame_width`` output columns wide; once, where the rest was dispatched once per call
        (``sweep_rest``, ``_sweep_dispatched``), else in a switch."""
        geo = self.geo
        sw, t0 = self._column_stride(), geo.kernel[-1] - 1

        def width(r: int) -> int:
            return (t0 + r - 1) // sw + 1

        if self.sweep_rest is not None:
            finish(width(self.sweep_rest))
            return
        rests = sweep_rests(geo, sw)
        switch = scf.IndexSwitchOp([], rest, [r for r in rests if r])
        blocks = [(0, switch.default_block)] if 0 in rests else []
        blocks += [(r, switch.case_block(i)) for i, r in enumerate(r for r in rests if r)]
        if 0 not in rests:
            with ir.InsertionPoint(switch.default_block):
                scf.YieldOp([])
        for r, blk in blocks:
            with ir.InsertionPoint(blk):
                finish(width(r))
                scf.YieldOp([])

    def _column_pointers(
        self, step: _Step, iw0: Index, seg_start: Index, t0: int, period: int
    ) -> tuple[list[ir.Value], list[ir.Value]] | None:
        """A 1-D sweep loop's column pointers: the input column each of its ``period``
        columns reads and the output column it finishes, in the loop's first iteration (the
        loop carries one offset), as ``bench/dw_acle_rb_k7.c`` has them; None where the
        buffers do not allow it (``_column_chain``'s conditions)."""
        self._unmapped("1-D column pointers")
        em = self.em
        out_t = ir.MemRefType(em.out.type)
        if not (
            self.flat_input is not None
            and not _adds_residual(em)
            and all(_f32_addressable(b) for b in (self.flat_input, em.out))
            and em.vt_in.element_type == ir.F32Type.get()
            and out_t.element_type == em.vt.element_type
        ):
            return None
        c = self.in_shape[-1]
        flat_out = collapse_trailing(em.out, out_t.rank)
        in_base = add(_byte_address(self.flat_input), mul(step.c0, 4))
        out_base = add(_byte_address(flat_out), mul(step.c0, 4))
        ins, outs = [], []
        for m in range(period):
            col = self._flat_start(step, [], add(iw0, t0 + m), channel=False)
            ins.append(_as_pointer(add(in_base, mul(col, 4))))
            pixel = linear([step.n, add(seg_start, t0 + m - (self.geo.kernel[0] - 1))], self.em.out_dims[:-1])
            outs.append(_as_pointer(add(out_base, mul(mul(pixel, c), 4))))
        return ins, outs

    def _column_chain_sweep_1d(
        self,
        column: Callable,
        cols: tuple[list[ir.Value], list[ir.Value]],
        width: Index,
        t0: int,
        period: int,
        c: int,
    ) -> None:
        """A 1-D sweep (``_sweep``) whose accesses are column pointers plus one offset, as in
        ``bench/dw_acle_rb_k7.c``: the ``period`` (K) columns of the loop's first iteration
        each have an input and an output pointer (``_column_pointers``); input column
        ``t0 + m + q K`` reads at pointer ``m`` plus ``q K C``, and stores the output it
        finishes there too. The loop carries that offset, one add per iteration; the columns
        before it take ``q = -1``, those after it the loop's offset and the next. Static
        offsets are made once per function (``_entry_offsets``)."""
        i64 = ir.IntegerType.get_signless(64)
        static = isinstance(width, int)
        step_k = period * c  # the offset of one iteration

        def at(t: int, off: ir.Value, live: dict[int, Accs], last: int | None) -> dict[int, Accs]:
            m = (t - t0) % period
            o64 = arith.index_cast(i64, off)
            return column(t, (0, 0), live, last, (o64, o64), (cols[0][m], cols[1][m]))

        iters = _sweep_iterations(width, 1, t0 + 1, period) if static else None
        made = self._entry_offsets(-step_k, step_k, (iters + 3) if static else 2)
        live: dict[int, Accs] = {}
        for t in range(t0):
            live = at(t, made[0], live, width if static else None)
        if not static:
            steady = arith.subi(index(width), index(t0))
            iters = arith.divui(steady, index(period))  # steady >= 0 (_swept_segment)
        keys = sorted(live)
        j = made[1]
        if not static or iters:
            trips = opaque_index(iters) if static and iters == 1 else iters
            for_op = scf.ForOp(index(0), index(trips), index(1), [*(a for o in keys for a in live[o]), j])
            no_unroll(for_op)
            n_acc = len(keys)
            with ir.InsertionPoint(for_op.body):
                args = list(for_op.inner_iter_args)
                st = {o: [args[i]] for i, o in enumerate(keys)}
                for m in range(period):
                    st = at(t0 + m, args[n_acc], st, None)
                nxt = opaque_index(arith.addi(args[n_acc], index(step_k)))
                scf.YieldOp([*(st[o + period][0] for o in keys), nxt])
            res = list(for_op.results)
            live = {o: [res[i]] for i, o in enumerate(keys)}
            j = made[1 + iters] if static else res[n_acc]

        def finish(frame_width: int) -> None:
            """The columns after the loop, of a frame ``frame_width`` output columns wide."""
            st, nxt = live, None
            for t in range(t0, frame_width - 1 + t0 + 1):
                if t - t0 < period:
                    st = at(t, j, st, frame_width)
                    continue
                if nxt is None:
                    nxt = made[2 + iters] if static else opaque_index(arith.addi(j, index(step_k)))
                st = at(t, nxt, st, frame_width)

        if static:
            finish(width - iters * period)
            return
        self._finish_rest(arith.subi(steady, mul(iters, period)), finish)

    def _column_chain(self, sw: int, kw_n: int, rows: int | None = None) -> bool:
        """Whether a sweep addresses its columns through a chain of offsets
        (``_column_chain_sweep``): f32 sweeps that store through the flat output (rows are
        then byte addresses: static offsets), 2-D at stride 1 or 2, and in 3-D the first pass
        in blocks of at most two rows (``rows``; None: any).

        3-D, instructions against offsets from the column index at 128 / 2048 bits:
        18x18x18x64 0.988 / 0.988, 3x3x3 C=64 0.993 / 0.994 (the loop's 9 address
        instructions per 3 columns become 6, as in ``acle_rb``). The first pass's blocks of
        three rows then spilled vector registers in their loop (18 taps, 9 accumulators;
        C=32: 1.09x), and a chained second pass, which also reads the first's sums, spilled
        its taps (18x18x18x64: 1.06x)."""
        three_d = self.sweep_planes is not None and not self._summing_pass and (rows or 0) <= 2
        return (
            (self.geo.rank == 2 or three_d)
            and sw in (1, 2)
            and (kw_n - 1) % sw == 0
            and self.flat_out is not None
            and not _adds_residual(self.em)
            and all(_f32_addressable(b) for b in (self.flat_input, self.flat_out))
            and self.em.vt_in.element_type == ir.F32Type.get()
            and ir.MemRefType(self.flat_out.type).element_type == self.em.vt.element_type
        )

    def _column_chain_sweep(
        self, column: Callable, width: Index, sw: int, t0: int, period: int, c: int, rows: int
    ) -> None:
        """A 2-D sweep or a 3-D sweep's first pass (``_sweep``, ``_column_chain``) whose every
        access is a row's pointer plus one column offset, as in ``bench/dw_sweep.h``: input
        column ``t`` reads its rows at offset ``ji``, the output column it finishes is stored
        at ``jo``. Each offset is the one
        before it plus the column stride through an empty asm, so LLVM neither folds a
        constant per (row, column) nor gives each its own pointer: a column costs an add (a
        pair of columns two at stride 2, whose odd columns read rows one column on). At
        stride 1 the rows start at the first steady column, so that ``ji`` is also ``jo``.
        The static columns' offsets are made once per function (``_entry_offsets``); the
        loop carries its own, and the columns after it continue from there (a run-time width:
        per rest, ``_finish_rest``).

        Every column outside the loop, and every one in it, ends with a memory fence (an
        empty asm that may touch memory), which keeps LLVM's scheduler from issuing the next
        column's loads early and spilling; the C kernels get that from their pointers, which
        may alias. A sweep of at most one loop iteration runs straight, without the loop.

        Instructions against the sweeps with offsets from the column index (5c4446f), with
        the rows chained and the taps read the same way, 128 / 2048 bits: MobileNetV2 7x7x960
        0.857 / 0.857, 14x14x384 0.959 / 0.959, 28x28x192 0.971 / 0.967, 56x56x144 0.986 /
        0.979, 112x112x32 0.980 / 0.972; stride 2 112x112x96 0.971 / 0.957, 56x56x144 0.973
        / 0.959, 14x14x576 0.901 / 0.900; 57x57x32 0.949 / 0.947."""
        static = isinstance(width, int)
        iters = _sweep_iterations(width, sw, t0 + 1, period) if static else None
        straight = static and iters <= 1
        shared = sw == 1

        def finishes(t: int) -> bool:
            return t >= t0 and (t - t0) % sw == 0

        def fence() -> None:
            llvm.inline_asm(None, [], "", "~{memory}", has_side_effects=True)

        made_to = ((width - 1) * sw + t0) if straight else t0  # the static columns
        out_c = 2 * c if self.packed else c  # an output column's channels
        ji_made = self._entry_offsets(-t0 * c if shared else 0, c * sw, made_to // sw + 1)
        jo_made = [] if shared else self._entry_offsets(0, out_c, width if straight else 1)

        i64 = ir.IntegerType.get_signless(64)

        def offsets(t: int, ji: ir.Value, jo: ir.Value | None) -> tuple[ir.Value, ir.Value | None]:
            """Column ``t``'s input offset and that of the output it finishes, as i64."""
            ji64 = arith.index_cast(i64, ji)
            if not finishes(t):
                return ji64, None
            return ji64, ji64 if shared else arith.index_cast(i64, jo)

        def advance(t: int, ji: ir.Value, jo: ir.Value | None) -> tuple[ir.Value, ir.Value | None]:
            if t % sw == sw - 1:
                ji = opaque_index(arith.addi(ji, index(c * sw)))
            if not shared and finishes(t):
                jo = opaque_index(arith.addi(jo, index(out_c)))
            return ji, jo

        live: dict[int, Accs] = {}
        if straight:
            for t in range(made_to + 1):
                jo = jo_made[(t - t0) // sw] if not shared and finishes(t) else None
                live = column(t, (0, 0), live, width, offsets(t, ji_made[t // sw], jo))
                fence()
            return
        for t in range(t0):
            live = column(t, (0, 0), live, width if static else None, offsets(t, ji_made[t // sw], None))
            fence()
        if not static:
            steady = arith.subi(mul(index(width), sw), index(sw + t0 - 1))
            iters = arith.divui(steady, index(period))  # steady >= 0 (_swept_segment)
        keys = sorted(live)
        chains = [ji_made[t0 // sw]] + ([] if shared else [jo_made[0]])
        for_op = scf.ForOp(index(0), index(iters), index(1), [*(a for o in keys for a in live[o]), *chains])
        no_unroll(for_op)
        n_acc = len(keys) * rows
        with ir.InsertionPoint(for_op.body):
            args = list(for_op.inner_iter_args)
            ji, jo = args[n_acc], (None if shared else args[n_acc + 1])
            st = {o: args[i * rows : (i + 1) * rows] for i, o in enumerate(keys)}
            for m in range(period):
                st = column(t0 + m, (0, 0), st, None, offsets(t0 + m, ji, jo))
                ji, jo = advance(t0 + m, ji, jo)
                if m < period - 1:
                    fence()
            # The sets are the first iteration's, ``period // sw`` output columns on.
            scf.YieldOp([*(a for o in keys for a in st[o + period // sw]), ji, *([] if shared else [jo])])
        res = list(for_op.results)
        live = {o: res[i * rows : (i + 1) * rows] for i, o in enumerate(keys)}
        ji, jo = res[n_acc], (None if shared else res[n_acc + 1])

        def finish(frame_width: int) -> None:
            """The columns after the loop, of a frame ``frame_width`` output columns wide."""
            st, i, o = live, ji, jo
            end = (frame_width - 1) * sw + t0
            for t in range(t0, end + 1):
                st = column(t, (0, 0), st, frame_width, offsets(t, i, o))
                fence()
                if t < end:
                    i, o = advance(t, i, o)

        if static:
            finish(width - iters * period // sw)
            return
        self._finish_rest(arith.subi(steady, mul(iters, period)), finish)

    def _last_input(self, dim: int, o: Index) -> Index:
        """The last input position output ``o`` of outer dim ``dim`` can read."""
        geo = self.geo
        hi = geo.input_index(dim, o, geo.kernel[dim] - 1)
        bound = sub(geo.in_spatial[dim], 1)
        return (
            min(hi, bound)
            if isinstance(hi, int) and isinstance(bound, int)
            else arith.minsi(index(hi), index(bound))
        )

    def _guarded(self, step: _Step, last_pixel: list[Index], emit: Callable[[_Step], None]) -> None:
        """``emit(step)``; in a tail step, twice: with unmasked input reads when a full vector
        read at ``last_pixel`` (spatial indices of batch entry ``step.n``) stays inside the
        input buffer, else masked."""
        if step.mask is None or step.unmasked_input or not unmasked_tail_reads(self.geo):
            emit(step)
            return
        em = self.em
        if em.row_map is not None:  # any slot may be read: the buffer's last pixel
            last_pixel = [sub(v, 1) for v in self.in_shape[1:-1]]
        pixel = linear([step.n, *last_pixel], self.in_shape[:-1])
        end = arith.addi(
            arith.addi(arith.muli(index(pixel), index(self.in_shape[-1])), step.c0), em.vector_length()
        )
        total = self.in_total
        if total is None:
            total = index(self.in_shape[0])
            for v in self.in_shape[1:]:
                total = arith.muli(total, index(v))
        fits = arith.cmpi(arith.CmpIPredicate.ule, end, index(total))
        branch = scf.IfOp(fits, [], has_else=True)
        with ir.InsertionPoint(branch.then_block):
            emit(dataclasses.replace(step, unmasked_input=True))
            scf.YieldOp([])
        with ir.InsertionPoint(branch.else_block):
            emit(step)
            scf.YieldOp([])

    def _block(
        self,
        step: _Step,
        combo,
        o_idx: list[Index],
        rows: int,
        seg: Segment,
        ow0: Index,
        width: int,
        scratch: tuple[ir.Value, Index] | None = None,
    ) -> None:
        """``rows`` x ``width`` outputs accumulated in registers over all their taps, stored once:
        into the output, or (``scratch``: a (pixels, channels) buffer and the block's first
        pixel in it) into a fused block's scratch tile."""
        self._unmapped("row blocks")
        em, geo = self.em, self.geo
        w = geo.rank - 1
        s, d, pad = geo.strides[w], geo.dilations[w], geo.pad_lo[w]
        n, c0, mask = step.n, step.c0, step.mask
        row_idx = [[*o_idx[:-1], affine(o_idx[-1], 1, 0, 1, r)] if r else list(o_idx) for r in range(rows)]
        out_at = [[n, *row_idx[r], affine(ow0, 1, 0, 1, j), c0] for r in range(rows) for j in range(width)]
        accs: Accs
        if self.from_output:
            accs = [em.read(em.vt, em.out, at, mask) for at in out_at]
        elif self.init is not None:
            accs = [vector.broadcast(em.vt, self.init)] * len(out_at)
        else:
            accs = [None] * len(out_at)

        def row_taps(k_idx: list[Index], accs: Accs, cache: dict) -> Accs:
            """Taps (k_idx, kw) of every output. Input vectors are shared through ``cache``,
            keyed by input row relative to row 0 and column: across the rows of the block and,
            when kh is unrolled, across kh too."""
            accs = list(accs)
            kh_static = bool(k_idx) and isinstance(k_idx[-1], int)
            if not kh_static:
                cache = {}
            static = all(isinstance(k, int) for k in k_idx)
            readers: dict[int, Callable[[int], ir.Value]] = {}  # per row, made at its first read
            relative = self.relative_rows and static and (step.mask is None or geo.runtime_sizes)
            for kw in range(seg.kmin, seg.kmax + 1):
                wv = step.hoisted.get((*k_idx, kw)) if static else None
                if wv is None:
                    wv = em.read(em.vt_in, em.filter, [*k_idx, kw, c0], mask)
                for r in range(rows):
                    rel = r * geo.strides[w - 1] + k_idx[-1] * geo.dilations[w - 1] if kh_static else r
                    for j in range(width):
                        p = j * s + kw * d
                        if (rel, p) not in cache:
                            if r not in readers and relative:
                                readers[r] = self._relative_reader(step, anchor, r, k_idx, ow0)
                            elif r not in readers:
                                readers[r] = self._row_reader(step, geo.outer_inputs(row_idx[r], k_idx), ow0)
                            cache[rel, p] = readers[r](p - pad)
                        accs[r * width + j] = em.mac(accs[r * width + j], cache[rel, p], wv)
            return accs

        anchor = _Anchor(row_idx[0])
        accs = self._outer_taps(combo, row_idx[0], 0, [], accs, row_taps, {}, self._unrolled(combo, seg))
        dest = em.out
        if scratch is not None:
            dest, col0 = scratch
            out_at = [[affine(col0, 1, 0, 1, j), c0] for j in range(width)]
        accs = [acc if acc is not None else em.zero_vector(em.vt) for acc in accs]
        if scratch is not None and self._tile_epilogue(dest):  # _fused_epilogue applies it
            for acc, at in zip(accs, out_at, strict=True):
                em.write(acc, dest, at, mask)
            return
        if self._epilogue_pass(dest) and len(accs) > 1:
            # The raw sums first, then the epilogue one output at a time, in a loop: 8 SiLUs
            # at once kept their constants and temporaries live with the 8 accumulators, and
            # LLVM spilled and shuffled (a 1-D K=31 block of 8: 918 instructions; the
            # Conformer block's depthwise kernel went from 1.09 to 0.93 M, 128 bits).
            for acc, at in zip(accs, out_at, strict=True):
                em.write(acc, dest, at, mask)
            for r in range(rows):
                base = out_at[r * width]

                def again(j: ir.Value, base=base) -> None:
                    at = [*base[:-2], affine(base[-2], 1, j, 1, 0), base[-1]]
                    em.store(em.read(em.vt, dest, at, mask), step.params, dest, at, mask)

                loop_step(0, width, 1, again, unroll=False)
            return
        for acc, at in zip(accs, out_at, strict=True):
            em.store(acc, step.params, dest, at, mask)

    def _tile_epilogue(self, scratch: ir.Value) -> bool:
        """Whether a fused block's tile gets its epilogue in one pass over the scratch after
        all its channel steps (``_fused_epilogue``), where ``_block`` would make a pass per
        block: one loop, before which SiLU's constants are made once and pinned
        (``epilogue.constants_before``). In the per-block passes LLVM splatted 9 of them
        again for every vector (Conformer block: 43 instructions per vector against 34)."""
        return self._epilogue_pass(scratch)

    def _fused_epilogue(self, scratch: ir.Value, count: int) -> None:
        """The epilogue over scratch rows [0, count), every channel step."""
        em = self.em

        def step(c0: ir.Value, mask: ir.Value | None) -> None:
            params = em.channel_params(c0, mask)
            for_op = scf.ForOp(index(0), index(count), index(1))
            no_unroll(for_op)
            with ir.InsertionPoint(for_op.body), constants_before(for_op):
                at = [for_op.induction_variable, c0]
                em.store(em.read(em.vt, scratch, at, mask), params, scratch, at, mask)
                scf.YieldOp([])

        em.channel_steps(step)

    def _epilogue_pass(self, dest: ir.Value) -> bool:
        """Whether a block stores its raw sums and applies the epilogue in a second pass: SiLU
        after the 8-column blocks of 1-D kernels, where ``dest`` holds accumulator values.
        Measured: 1-D K=7 -5%, K=31 -15%; 2-D (4-column rows in fused blocks) gained at 128
        bits and lost at 2048 (+12%), so it stays as is."""
        em = self.em
        epi = em.epilogue
        if self.geo.rank != 1 or epi is None or epi.epilogue.requantize:
            return False
        act = epi.epilogue.activation
        return (
            act is not None
            and act.kind == "silu"
            and ir.MemRefType(dest.type).element_type == em.vt.element_type
        )

    def _dynamic_block(
        self,
        step: _Step,
        combo,
        o_idx: list[Index],
        rows: int,
        ow: Index,
        scratch: tuple[ir.Value, Index] | None = None,
    ) -> None:
        """``rows`` outputs of column ``ow`` in a wide border: the in-bounds W taps of the
        column are computed at run time and looped over (filter taps read per tap)."""
        self._unmapped("wide-border columns")
        em, geo = self.em, self.geo
        w = geo.rank - 1
        s, d, pad = geo.strides[w], geo.dilations[w], geo.pad_lo[w]
        n, c0, mask = step.n, step.c0, step.mask
        row_idx = [[*o_idx[:-1], affine(o_idx[-1], 1, 0, 1, r)] if r else list(o_idx) for r in range(rows)]
        out_at = [[n, *row_idx[r], ow, c0] for r in range(rows)]
        if self.from_output:
            accs = [em.read(em.vt, em.out, at, mask) for at in out_at]
        elif self.init is not None:
            accs = [vector.broadcast(em.vt, self.init)] * rows
        else:
            accs = [em.zero_vector(em.vt)] * rows
        k_lo, k_hi = tap_bounds(geo, w, index(ow))

        def taps(kw: Index, accs: list[ir.Value], k_idx: list[Index]) -> list[ir.Value]:
            wv = em.read(em.vt_in, em.filter, [*k_idx, kw, c0], mask)
            new = []
            for r, acc in enumerate(accs):
                outer_in = geo.outer_inputs(row_idx[r], k_idx)
                x = em.read(em.vt_in, em.input, [n, *outer_in, affine(ow, s, kw, d, -pad), c0], mask)
                new.append(em.mac(acc, x, wv))
            return new

        def row_taps(k_idx: list[Index], accs: Accs, _cache: dict) -> Accs:
            # A long filter's border column (1-D K=31 SAME: 16 to 30 taps) in steps of
            # BORDER_TAP_STEP taps (one loop update per step, not per tap), then the rest.
            lo = k_lo
            if geo.kernel[w] >= 2 * BORDER_TAP_STEP:
                span = arith.subi(k_hi, k_lo)
                lo = arith.addi(k_lo, arith.subi(span, arith.remui(span, index(BORDER_TAP_STEP))))
                for_op = scf.ForOp(k_lo, lo, index(BORDER_TAP_STEP), accs)
                no_unroll(for_op)
                with ir.InsertionPoint(for_op.body):
                    kw = for_op.induction_variable
                    step_accs = list(for_op.inner_iter_args)
                    for u in range(BORDER_TAP_STEP):
                        step_accs = taps(affine(kw, 1, 0, 1, u), step_accs, k_idx)
                    scf.YieldOp(step_accs)
                accs = list(for_op.results)
            for_op = scf.ForOp(lo, k_hi, index(1), accs)
            no_unroll(for_op)
            with ir.InsertionPoint(for_op.body):
                scf.YieldOp(taps(for_op.induction_variable, list(for_op.inner_iter_args), k_idx))
            return list(for_op.results)

        accs = self._outer_taps(combo, row_idx[0], 0, [], accs, row_taps, {}, False)
        dest = em.out
        if scratch is not None:
            dest, col = scratch
            out_at = [[col, c0]]
        raw = scratch is not None and self._tile_epilogue(dest)  # _fused_epilogue applies it
        for acc, at in zip(accs, out_at, strict=True):
            if raw:
                em.write(acc, dest, at, mask)
            else:
                em.store(acc, step.params, dest, at, mask)

    def _row_reader(self, step: _Step, outer_in: list[Index], ow0: Index) -> Callable[[int], ir.Value]:
        """``read(col)``: the input vector at outer position ``outer_in``, column
        ``ow0 * stride + col``, for one block row."""
        self._unmapped("row blocks")
        em = self.em
        s = self.geo.strides[-1]
        if not step.unmasked_input and not self.flat_rows:
            return lambda col: em.read(
                em.vt_in, em.input, [step.n, *outer_in, affine(ow0, s, 0, 0, col), step.c0], step.mask
            )
        # Flat index: the row's start (computed once) plus a constant, which LLVM folds into
        # addressing.
        c = self.in_shape[-1]
        start = self._flat_start(step, outer_in, affine(ow0, s, 0, 0, 0))
        mask = None if step.unmasked_input else step.mask  # flat rows read masked in a tail step
        return lambda col: em.read(
            em.vt_in, self.flat_input, [arith.addi(start, index(col * c)) if col else start], mask
        )

    def _flat_start(self, step: _Step, outer_in: list[Index], iw: Index, channel: bool = True) -> ir.Value:
        """Index in the flat input view of channel ``step.c0`` (``channel``; else 0) at batch
        entry ``step.n``, outer position ``outer_in`` and column ``iw``."""
        row = linear([step.n, *outer_in, iw], self.in_shape[:-1])
        pixel = arith.muli(index(row), index(self.in_shape[-1]))
        return arith.addi(pixel, step.c0) if channel else pixel

    def _flat_stride(self, dim: int) -> Index:
        """Elements between consecutive positions of outer dim ``dim`` in the flat input view."""
        return functools.reduce(mul, self.in_shape[dim + 2 :])

    def _carries_rows(self, step: _Step, count: Index) -> bool:
        """Whether a loop over ``count`` single rows carries their flat input start
        (``_carried_rows``): in full channel steps of 2-D stride-1 kernels with run-time sizes.
        Elsewhere their single-row loops run rarely, and the extra code only moved LLVM's
        register allocation of the rest (3-D 18x18x18x64: 1.049 -> 1.051)."""
        return (
            self.geo.rank == 2
            and self.geo.strides[-1] == 1
            and self.relative_rows
            and self.geo.runtime_sizes
            and step.mask is None
            and not (isinstance(count, int) and count == 1)
        )

    def _carried_rows(
        self, step: _Step, o_prefix: list[Index], lo: Index, hi: Index, row_step: int, body: Callable
    ) -> None:
        """``body(o)`` for output rows ``o`` in [lo, hi) by ``row_step`` of the innermost outer
        dim, in an ``scf.for`` that carries row ``o``'s flat input start (column 0, tap 0) and
        adds the run-time row stride per row; ``_relative_reader`` starts from it. Recomputed
        per row it cost a multiply-add and a shift: a 7-wide row with run-time sizes took 113
        instructions where the static one takes 108 (MobileNetV2 7x7x960: 1.059x the static
        kernel, now 1.003x). Paired rows gain nothing from it (their row set-up is shared by
        more blocks), so they keep their loop."""
        self._unmapped("carried rows")
        geo = self.geo
        j = geo.rank - 2
        init = self._flat_start(step, geo.outer_inputs([*o_prefix, lo], [0] * (geo.rank - 1)), 0)
        inc = arith.muli(index(row_step * geo.strides[j]), index(self._flat_stride(j)))
        for_op = scf.ForOp(index(lo), index(hi), index(row_step), [init])
        with ir.InsertionPoint(for_op.body):
            saved = self._row_start
            self._row_start = (for_op.induction_variable, for_op.inner_iter_args[0])
            body(for_op.induction_variable)
            self._row_start = saved
            scf.YieldOp([arith.addi(for_op.inner_iter_args[0], inc)])

    def _relative_reader(
        self, step: _Step, anchor: _Anchor, r: int, k_idx: list[int], ow0: Index
    ) -> Callable[[int], ir.Value]:
        """``_row_reader`` for block row ``r`` at static outer taps ``k_idx``, its start the
        block's anchor (row 0 at tap 0, computed once) plus a static offset per outer dim
        times that dim's flat stride."""
        self._unmapped("relative rows")
        em, geo = self.em, self.geo
        c = self.in_shape[-1]
        if anchor.start is None:
            # A block at a run-time column (a loop of blocks along the row) adds its column
            # offset to row starts that do not depend on it: LLVM hoists those out of the loop.
            iw0 = affine(ow0, geo.strides[-1], 0, 0, 0)
            hoist = not isinstance(iw0, int) and step.mask is None
            carried = self._row_start
            if (
                carried is not None
                and isinstance(anchor.o_idx[-1], ir.Value)
                and carried[0] == anchor.o_idx[-1]
            ):
                anchor.start = (
                    carried[1] if hoist else arith.addi(carried[1], arith.muli(index(iw0), index(c)))
                )
            else:
                outer0 = geo.outer_inputs(anchor.o_idx, [0] * len(k_idx))
                anchor.start = self._flat_start(step, outer0, 0 if hoist else iw0)
            anchor.col = arith.muli(index(iw0), index(c)) if hoist else None
        start = anchor.start
        last = len(k_idx) - 1
        for j, k in enumerate(k_idx):
            rows = k * geo.dilations[j] + (r * geo.strides[j] if j == last else 0)
            if rows:
                start = arith.addi(start, arith.muli(index(rows), index(self._flat_stride(j))))
        mask = None if step.unmasked_input else step.mask
        col0 = anchor.col

        def at(col: int) -> ir.Value:
            if col0 is None:
                return arith.addi(start, index(col * c)) if col else start
            if self.column_bases:
                return arith.addi(arith.addi(start, index(col * c)) if col else start, col0)
            return arith.addi(start, arith.addi(col0, index(col * c)) if col else col0)

        return lambda col: em.read(em.vt_in, self.flat_input, [at(col)], mask)

    def _unrolled(self, combo: tuple[Segment, ...], seg: Segment) -> bool:
        """Whether a block's outer taps may be unrolled: only where every tap is in bounds.

        Border rows and columns (padding) are few, and unrolling each of their tap ranges
        multiplied code size (3-D 3x3x3 SAME took 2.8 s to compile).
        """
        full = [(g.kmin, g.kmax) == (0, k - 1) for g, k in zip(combo, self.geo.kernel, strict=False)]
        return all(full) and (seg.kmin, seg.kmax) == (0, self.geo.kernel[-1] - 1)

    def _outer_taps(
        self, combo, o_idx, level: int, k_idx: list[Index], accs: Accs, body, cache, unroll: bool
    ) -> Accs:
        """``body`` over every in-bounds outer tap (kd, kh) of the row ``o_idx``; with
        ``unroll``, the innermost outer dims are unrolled up to MAX_UNROLLED_OUTER_TAPS taps."""
        if level == len(combo):
            return body(k_idx, accs, cache)
        if level == len(combo) - 1:
            cache = {}  # input vectors shared by the kh taps of one kd
        g = combo[level]
        if g.kmin <= g.kmax:
            lo, hi = g.kmin, g.kmax + 1
        else:
            lo, hi = tap_bounds(self.geo, level, index(o_idx[level]))

        def inner(k: Index, a: Accs) -> Accs:
            return self._outer_taps(combo, o_idx, level + 1, [*k_idx, k], a, body, cache, unroll)

        taps_below = math.prod(self.geo.kernel[level : len(combo)])
        # With run-time row strides every input row a block reads needs its own address
        # register: unrolled over kd and kh, a 3-D block's 12 rows spilled (1.8x the static
        # kernel's instructions). Only the innermost outer dim (kh) is unrolled then, unless
        # the rows are read from a flat view (``flat_rows``).
        runtime_strides = any(self.geo.is_dynamic(j) for j in range(level + 1, self.geo.rank))
        if runtime_strides and level < len(combo) - 1 and not self.flat_rows:
            taps_below = MAX_UNROLLED_OUTER_TAPS + 1
        if unroll and isinstance(lo, int) and isinstance(hi, int) and taps_below <= MAX_UNROLLED_OUTER_TAPS:
            for k in range(lo, hi):
                accs = inner(k, accs)
            return accs
        zero = None
        carried = []
        for a in accs:
            if a is None:
                zero = zero or self.em.zero_vector(self.em.vt)
                a = zero
            carried.append(a)
        for_op = scf.ForOp(index(lo), index(hi), index(1), carried)
        no_unroll(for_op)  # we decided: LLVM's full unroll of these undid the code-size limit
        with ir.InsertionPoint(for_op.body):
            scf.YieldOp(inner(for_op.induction_variable, list(for_op.inner_iter_args)))
        return list(for_op.results)

    # -- fused blocks ------------------------------------------------------------------------------
    def emit_fused(
        self,
        n: Index,
        tile_cols: int,
        scratch: ir.Value,
        consume: Callable,
        interior: Callable[[Index, int, int], None] | None = None,
    ) -> None:
        """Every output pixel of batch entry ``n`` in tiles of at most ``tile_cols`` pixels of one
        row: the depthwise outputs of a tile (every channel step, through the epilogue) go to
        ``scratch`` (tile_cols x channels), then ``consume(n, o_idx, first_col, count)`` reads
        them while they are still in L1 (the pointwise GEMM). Rows are not paired here.
        ``interior(n, first, count)``, if given, emits a 2-D conv's rows that read no padding
        row instead (``vector_rows.multi_row_tiles``)."""
        geo = self.geo
        groups = [outer_groups(geo, j) for j in range(geo.rank - 1)]
        for combo in itertools.product(*groups):
            if (
                interior is not None
                and geo.rank == 2
                and (combo[0].kmin, combo[0].kmax) == (0, geo.kernel[0] - 1)
            ):
                interior(n, combo[0].start, combo[0].count)
                continue

            def outputs(level: int, o_idx: list[Index], combo=combo) -> None:
                if level == len(combo):
                    self._fused_row(n, combo, o_idx, tile_cols, scratch, consume)
                    return
                g = combo[level]
                loop(g.start, g.count, None, lambda o, _: outputs(level + 1, [*o_idx, o]))

            outputs(0, [])

    def _fused_row(self, n, combo, o_idx: list[Index], tile_cols: int, scratch, consume) -> None:
        geo = self.geo
        segments = w_segments(geo)
        covers_row = sum(int(seg.count) for seg in segments) == geo.out_spatial[-1]
        if len(segments) > 1 and geo.out_spatial[-1] <= tile_cols and covers_row:
            # The whole row fits one tile: every segment (SAME padding's border columns too)
            # into the scratch, then one GEMM over the row. A GEMM per segment ran each border
            # column as a 1-pixel block (3.5 instructions per FMA against 2.3 in blocks of 4).
            # Not where columns read only padding: the padding-only pass computes those, and
            # a row GEMM over them would write what the scratch held (NAME_part: another
            # share's pixels).
            def whole_row() -> None:
                for seg in segments:
                    self.em.channel_steps(
                        lambda c0, mask, seg=seg: self._fused_tile_step(
                            n, c0, mask, combo, o_idx, seg, seg.start, seg.count, scratch, origin=0
                        )
                    )
                if self._tile_epilogue(scratch):
                    self._fused_epilogue(scratch, geo.out_spatial[-1])
                consume(n, o_idx, 0, geo.out_spatial[-1])

            self.em.owned(n, o_idx, 0, whole_row)
            return
        for seg in segments:

            def tile(t0: Index, count: int, seg: Segment = seg) -> None:
                def body() -> None:
                    self.em.channel_steps(
                        lambda c0, mask: self._fused_tile_step(
                            n, c0, mask, combo, o_idx, seg, t0, count, scratch
                        )
                    )
                    if self._tile_epilogue(scratch):
                        self._fused_epilogue(scratch, count)
                    consume(n, o_idx, t0, count)

                self.em.owned(n, o_idx, t0, body)

            tiles(seg, tile_cols, tile)

    def _fused_tile_step(
        self,
        n,
        c0,
        mask,
        combo,
        o_idx,
        seg: Segment,
        t0: Index,
        count: int,
        scratch,
        origin: Index | None = None,
    ) -> None:
        """One channel step of one tile: its blocks, stored to the scratch tile (reading the
        input unmasked in the tail step where it can, as ``_row`` and ``_segments`` do).
        Scratch row 0 holds output column ``origin`` (default: the tile's first, ``t0``)."""
        geo = self.geo
        origin = t0 if origin is None else origin
        w = geo.rank - 1
        s, d, pad = geo.strides[w], geo.dilations[w], geo.pad_lo[w]

        def blocks(step: _Step) -> None:
            if not unrolled_w_taps(seg):  # a wide border or a long filter: one column at a time
                loop(
                    0,
                    count,
                    None,
                    lambda i, _: self._dynamic_block(
                        step,
                        combo,
                        o_idx,
                        1,
                        affine(t0, 1, i, 1, 0),
                        (scratch, _minus(affine(t0, 1, i, 1, 0), origin)),
                    ),
                )
                return
            off = 0
            for width, cnt in block_widths(count, block_cap(geo, 1)):

                def block(ow0: Index, st: _Step, width: int = width) -> None:
                    col0 = _minus(ow0, origin)
                    self._block(st, combo, o_idx, 1, seg, ow0, width, (scratch, col0))

                def guarded(ow0: Index, width: int = width) -> None:
                    if geo.rank > 1:
                        block(ow0, step)
                        return
                    col_hi = affine(ow0, s, 0, 0, (width - 1) * s + seg.kmax * d - pad)
                    self._guarded(step, [col_hi], lambda st: block(ow0, st))

                start = affine(t0, 1, 0, 1, off)
                if cnt == 1:
                    guarded(start)
                else:
                    loop_step(start, affine(t0, 1, 0, 1, off + cnt * width), width, guarded, unroll=False)
                off += cnt * width

        step = self._make_step(n, c0, mask)
        if geo.rank > 1:
            row_hi = [self._last_input(j, o) for j, o in enumerate(o_idx)]
            self._guarded(step, [*row_hi, geo.in_spatial[-1] - 1], blocks)
        else:
            blocks(step)


def _adds_residual(em) -> bool:
    """Whether the emitter's stores add the block's input (``vector_rows.Residual``): they go
    through ``store``, which finds the input's view of each output view, not through byte
    addresses."""
    return em.epilogue is not None and em.epilogue.residual is not None


def _f32_addressable(buf: ir.Value) -> bool:
    """Whether memref ``buf`` can be read through byte addresses (``_byte_address``):
    contiguous f32 (``contiguous_layout``)."""
    t = ir.MemRefType(buf.type)
    return contiguous_layout(t) and t.element_type == ir.F32Type.get()


def _byte_address(buf: ir.Value) -> ir.Value:
    """The address of element 0 of rank-1 memref ``buf`` (its offset included, static or
    read from the descriptor)."""
    t = ir.MemRefType(buf.type)
    offset = t.get_strides_and_offset()[1]
    base = memref.extract_aligned_pointer_as_index(buf)
    if offset != ir.ShapedType.get_dynamic_stride_or_offset():
        return add(base, offset * t.element_type.width // 8)
    meta = memref.ExtractStridedMetadataOp(buf)
    return arith.addi(base, arith.muli(meta.offset, index(t.element_type.width // 8)))


def _as_pointer(addr: Index) -> ir.Value:
    """Byte address ``addr`` as an LLVM pointer."""
    i64 = ir.IntegerType.get_signless(64)
    return llvm.inttoptr(ir.Type.parse("!llvm.ptr"), arith.index_cast(i64, index(addr)))


def _pointer(base: ir.Value, off: ir.Value) -> ir.Value:
    """The pointer to f32 element ``off`` (i64) from pointer ``base``."""
    dynamic = ir.DenseI32ArrayAttr.get([-(2**31)])  # one index, given as a value
    f32 = ir.TypeAttr.get(ir.F32Type.get())
    no_flags = ir.IntegerAttr.get(ir.IntegerType.get_signless(32), 0)
    return llvm.getelementptr(base.type, base, [off], dynamic, f32, no_flags)


def _load_at(vt: ir.VectorType, base: ir.Value, off: ir.Value, mask: ir.Value | None) -> ir.Value:
    """A vector read at f32 element ``off`` from pointer ``base`` (masked lanes: any value)."""
    ptr = _pointer(base, off)
    if mask is None:
        return llvm.load(vt, ptr, alignment=4)
    i32 = ir.IntegerType.get_signless(32)
    return llvm.intr_masked_load(vt, ptr, mask, ir.IntegerAttr.get(i32, 4))


def _store_at(value: ir.Value, base: ir.Value, off: ir.Value, mask: ir.Value | None) -> None:
    """Store ``value`` at f32 element ``off`` from pointer ``base``."""
    ptr = _pointer(base, off)
    if mask is None:
        llvm.store(value, ptr, alignment=4)
        return
    i32 = ir.IntegerType.get_signless(32)
    llvm.intr_masked_store(value, ptr, mask, ir.IntegerAttr.get(i32, 4))


def _sweep_iterations(width: int, sw: int, kw_n: int, period: int) -> int:
    """Loop iterations of a static sweep's steady columns (``BlockedRows._sweep``)."""
    return max((width - 1) * sw - (kw_n - 2), 0) // period


def _entry_block() -> ir.Block:
    """The entry block of the function being emitted into."""
    op = ir.InsertionPoint.current.block.owner
    while op.name != "func.func":
        op = op.parent
    return op.regions[0].blocks[0]


@dataclasses.dataclass
class _Anchor:
    """A block's first row (``o_idx``) and, once made, its flat input start at tap 0."""

    o_idx: list[Index]
    start: ir.Value | None = None
    col: ir.Value | None = None


def _minus(a: Index, b: Index) -> Index:
    """``a - b``, folded when both are static."""
    if isinstance(a, int) and isinstance(b, int):
        return a - b
    return a if isinstance(b, int) and b == 0 else arith.subi(index(a), index(b))
