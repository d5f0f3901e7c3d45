"""The expand 1x1 conv of a fused block (the inverted residual's expansion), fused into the
depthwise code: the expanded tensor never exists whole.

Per batch entry, the outputs are cut into tiles along the inner spatial dims (W; H and W
for 3-D), and the expanded channels into chunks of ``CT`` channels. For each tile and chunk:

* the outermost spatial dim of a 2-D or 3-D conv is swept in order through a **ring** of
  ``RR = (K - 1) * d + 1`` expanded input rows (planes for 3-D) in a stack scratch. Each
  output row computes only the ``s`` rows it does not share with the previous one, and
  stores each once, at slot ``row mod RR``. The depthwise code sees a plain valid conv over
  the RR slots in their order, with the filter's rows **rotated** to match: tap row ``kh``
  meets slot ``(first row + kh) mod RR``. The rotations are views of a stack copy of the
  chunk's filter rows ``0 .. K-1, 0 .. K-2`` (``2 K - 1`` rows), made once per chunk.
  Dilated along the ring dim (slots between the taps), a row is instead stored at slot
  ``r = row mod RR`` and, unless ``r = RR - 1``, again at ``r + RR`` (``2 RR - 1`` slots), so
  the rows of any output row are one contiguous window starting at slot ``first row mod
  RR``. A 2-D ring of stride 1 or 2, f32 on SVE, is instead **mapped** (``mapped_rows``):
  two output rows a step from ``s + K`` slots, which the depthwise sweep reads through a row
  map (input row ``j`` of the step at slot ``(first row + j) mod RR``), with no filter copy;
  at stride 2, where two rows a step do not keep the plan or take fewer channels a chunk,
  one row a step from ``K`` slots (``plan``), its pointwise GEMM on all the output rows at
  once where that keeps whole vectors a chunk, else on pairs of rows (``_plan``).
  A 1-D conv fills its window (the tile's input columns) directly;
* the expand GEMM (``ExpandGemm``: pixels x CIN times CIN x CT, the chunk's channels as the
  scalable vector dim, up to 10 x 2 accumulators in registers across CIN) writes
  act(x @ We + b) into the window; window pixels in the padding get 0, as padding pads the
  depthwise conv's input;
* the depthwise emitter of any channels-last op (``vector_rows``/``blocked``) computes the
  tile's outputs of the chunk's channels from the window, through their epilogue, into the
  output, or into the pointwise scratch, whose GEMM then adds the chunk's share of the 1x1
  conv to the output (the first chunk starts from zero, the last applies the epilogue and
  the residual).

Scratch: window plus pointwise tile stay within ``SCRATCH_BYTES`` (for a 64 KiB L1D). The
last tile of a dim is shifted back to end at the edge, so every tile has the same static
shape (a few outputs are computed twice, with the same result).

A small 2-D image is instead one tile (``_whole_image``): per chunk, the expand GEMM runs over
all the input's pixels into a window without padding, the depthwise code of the padded conv
(as the unfused kernel's) reads it, and the pointwise GEMM runs over all the output's pixels.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, memref, scf, vector

from ..errors import UserError
from ..ir.builder import zero_constant
from ..ir.epilogue import apply_epilogue
from ..spec import Epilogue
from .blocked import SWEEP_FROM_COLUMNS, covers_every_output
from .nest import (
    ConvGeometry,
    Index,
    add,
    affine,
    balanced_blocks,
    collapse,
    dense_layout,
    index,
    loop,
    loop_step,
    pixel_view,
    sub,
    subview,
)
from .outline import outlined
from .pointwise import (
    K_UNROLL,
    LANE_PIXELS,
    PIXELS,
    bias_sums,
    bias_vectors,
    gemm_blocks,
    gemm_pixels,
    k_steps,
    lane_fmas,
    quad,
    quad_fmas,
    read_scalar,
    reduction_quads,
    rows_target,
    scratch_budget,
    weight_reader,
)

SCRATCH_BYTES = 48 * 1024  # window + pointwise tile: 64 KiB of L1D less room for weights
MAX_TILE_COLS = 32  # output columns per tile (W); 3-D tiles are at most 8 x 8 (H x W)
MIN_CHUNK = 16  # channels per chunk a tile must leave room for
GEMM_VECTORS = 2
# Pixels of a one-vector block. With LLVM's machine scheduler, which hoists the quad loads,
# LLVM puts a few accumulators in z0-z7, where the indexed FMAs' quads must be, and spills the
# quads of 7 pixels (71 instructions per 28 FMAs, MobileNetV2 block 7 at 2048 bits); blocks of
# 4 run spill-free (29 per 16). f32 on SVE compiles without it (compile.machine_scheduler):
# blocks of 8 run spill-free (44 per 28 at 7 pixels).
ONE_VECTOR_PIXELS = 4
ONE_VECTOR_PIXELS_UNSCHEDULED = 8
# A chunk of one vector (64 channels at 2048 bits) expands a row in blocks of up to 16 pixels:
# 4 weight vectors per 64 FMAs, not per 32. MobileNetV2 block 7 at 2048 bits: 1.06 -> 0.98 of
# the ACLE block; block 4: 1.07 -> 0.99. So does a chunk's last vector (``_row_tail``).
ONE_VECTOR_ROW_PIXELS = 16
# Chunk loops of a 2-D block with a pointwise conv are peeled (``chunk_schedule``).
PEELED_CHUNKS = 3
RUNTIME_PIXELS = 4  # pixel blocks of a row whose bounds are known only at run time
# Ring rows an output row fills in straight-line code at stride 1 (the first output row's K);
# more, or any at a larger stride, fill in a loop, one copy of the expand GEMM (a copy per
# peeled chunk). A 5x5 filter of dilation 2 filled its 9 rows in 9 copies, 50,400 ops where
# the depthwise conv alone makes 25,100; MobileNetV2 block 4, its 28-pixel rows in GEMM blocks
# of 10 + 9 + 9, made 55,500 ops with a stride-2 block's 3 + 2 rows unrolled, 28,800 in loops.
# Unrolled, stride-1 blocks run up to 0.5 % fewer instructions (MobileNetV2 block 17), stride-2
# ones 0.2 % more (block 14).
UNROLLED_RING_ROWS = 3
MAPPED_ROWS = 2  # output rows per depthwise sweep of a mapped ring (``mapped_rows``)
# The scratch of a ring mapped one output row a step (``_plan``), whatever its weights (as
# 56 KiB was before it): 15/16 of a 64 KiB L1D, the rest for the stack and the input pixels
# the expand GEMM reads. MobileNetV2 block 7 takes 128 + 64 channels with pairs of output
# rows per pointwise GEMM (58,880 bytes), not 3 x 64 two rows a step; block 4 one chunk of
# 144 (58,176 bytes), not 128 + 16. Fewer instructions, and in the cache model 2.5-10 % more
# L1 misses than within 56 KiB (see docs/performance.md).
ONE_ROW_SCRATCH_BYTES = 60 * 1024
STRAIGHT_BLOCKS = 3  # GEMM blocks of merged ring rows emitted straight at most (``ExpandGemm``)


@dataclass(frozen=True)
class FusedExpand:
    """The 1x1 conv before the depthwise layer: block input (``input``, CIN channels), weights
    (CIN x C), bias and epilogue."""

    input: ir.Value
    filter: ir.Value
    bias: ir.Value | None
    epilogue: Epilogue

    @property
    def cin(self) -> int:
        return ir.MemRefType(self.filter.type).shape[0]


@dataclass(frozen=True)
class ExpandPlan:
    """Static tiling of an expand block: tile and window sizes per spatial dim (the ring dim's
    tile is one output row, its window the ring), channels per chunk."""

    ring: bool  # the outermost spatial dim is swept through a ring (2-D and 3-D)
    rotate: bool  # the ring's rows are stored once and the filter rotated (``rotates``)
    tile: tuple[int, ...]  # outputs per tile, every spatial dim
    window: tuple[int, ...]  # input positions per tile, every spatial dim
    chunk: int  # expanded channels per chunk
    scratch_bytes: int
    group: int = 1  # output rows per pointwise GEMM (``row_groups``)
    whole: bool = False  # one tile of the whole image, its window the input (``_whole_image``)
    bound: int = SCRATCH_BYTES  # the scratch's bound (``scratch_bytes`` is its size)
    # The depthwise sweep reads the ring's slots through a row map (``mapped_rows``), the
    # tile's first dim output rows a step (``MAPPED_ROWS``, or one), with no filter copy.
    mapped: bool = False
    # Planned for code size (``compact_expand``): its chunks are not peeled either.
    compact: bool = False

    @property
    def pair(self) -> bool:
        """Whether the pointwise GEMM takes more than one output row at a time."""
        return self.group > 1

    @property
    def ring_rows(self) -> int:
        return self.window[0] if self.ring else 0

    @property
    def filter_copy(self) -> bool:
        """Whether each chunk copies its filter rows for the ring's rotations (``_copy_taps``)."""
        return self.rotate and not self.mapped


_COMPACT = contextvars.ContextVar("dwmlir_compact_expand", default=False)


@contextlib.contextmanager
def compact_expand() -> Iterator[None]:
    """Expand blocks emitted for code size rather than speed (``plan(compact=True)``, chunks
    not peeled): what ``artefact.limits.rewrite_within_limit`` rebuilds a block over the
    code-size limit with."""
    token = _COMPACT.set(True)
    try:
        yield
    finally:
        _COMPACT.reset(token)


def compacting() -> bool:
    """Whether ``compact_expand`` is active."""
    return _COMPACT.get()


def plan(
    geo: ConvGeometry,
    channels: int,
    multiplier: int,
    elt_bytes: int,
    pointwise: bool,
    cin: int,
    sweeps: bool = False,
    one_chunk: bool = False,
    compact: bool = False,
) -> ExpandPlan:
    """The whole image in one tile where that pays (``_whole_image``); else tile sizes
    within ``SCRATCH_BYTES``: wide tiles first (less recomputation of the expansion at tile
    edges), then as many channels per chunk as fit. ``sweeps``: whether the depthwise code
    sweeps rows (``vector_rows._Emitter.sweeps_rows``, of a plain channels-last op: the
    sweep of ``BlockedRows``), which a mapped ring needs (``mapped_rows``). ``one_chunk``:
    narrower tiles until all the channels fit one chunk (a block whose output rounds, so
    the pointwise GEMM's partial sums cannot wait in it between chunks); the plan's chunk
    is still smaller where even the narrowest tile does not fit, which its caller refuses.
    ``compact``: the plan for code size (``compact_expand``)."""

    def tiling(rows_a_step: int, group_all: bool = True) -> ExpandPlan:
        return _plan(geo, channels, multiplier, elt_bytes, pointwise, cin, rows_a_step, one_chunk, group_all)

    plain = tiling(0)
    if compact:
        return _equal_chunks(plain, channels)
    if plain.whole or not mapped_rows(geo, sweeps) or plain.tile[-1] < SWEEP_FROM_COLUMNS:
        return plain
    # Mapped where its slots and second output row keep the chunks and tiles (rows of 14:
    # 1 value a channel more than the filter copy it saves; rows of 20: 27 more, and C =
    # 197 would go in chunks of 64, not 112), and where the unmapped plan's pointwise GEMM
    # takes at most as many rows (MobileNetV2 block 14's 7 rows of 7 in 5 GEMM blocks, not
    # 4 pairs of 7 + 7).
    mapped = tiling(MAPPED_ROWS)
    keeps = mapped.chunk >= plain.chunk and mapped.tile[1:] == plain.tile[1:] and plain.group <= MAPPED_ROWS
    two = mapped if keeps and mapped.scratch_bytes <= mapped.bound else None
    if geo.strides[0] != 2:
        return two or plain
    # Else at stride 2, one output row a step through the row map, where that keeps the
    # tiles, chunks and row groups: no copy of the filter, whose rotated rows cost the sweep
    # a register per tap (their offsets a chunk apart). MobileNetV2 block 14 (chunks of 128,
    # its 7 rows in one GEMM): 1.006 / 1.007 / 1.009 / 1.011 / 1.016 of the unfused kernels
    # at 128 ... 2048 bits -> 0.997 / 0.998 / 0.9999 / 1.001 / 1.005; block 4 (144 channels
    # in 128 + 16, not 96 + 48): 0.986 / 0.990 / 0.995 / 1.012 / 1.012 -> 0.984 / 0.986 /
    # 0.985 / 0.992 / 0.999; block 2 0.957-0.977 -> 0.960-0.990. Block 3 (stride 1, one
    # chunk of 144) ran 0.4 and 0.6 % more at 1024 and 2048 bits so. Also in place of two
    # rows a step where one row a step takes more channels a chunk: MobileNetV2 block 7, 128
    # + 64 with pairs of rows per GEMM, not 3 x 64 (one vector at 2048 bits, where each chunk
    # loads the input's quads again): 0.984 / 0.986 / 0.991 / 1.001 / 1.029 of the unfused
    # kernels -> 0.987 / 0.988 / 0.991 / 0.996 / 0.9999.
    single = tiling(1)
    if single.chunk < plain.chunk:  # row by row, where a group of all rows takes fewer channels
        single = tiling(1, group_all=False)
    keeps = single.chunk >= plain.chunk and single.tile[1:] == plain.tile[1:] and single.group >= plain.group
    if two is not None and not (keeps and single.chunk > two.chunk):
        return two
    return single if keeps else plain


def _equal_chunks(pl: ExpandPlan, channels: int) -> ExpandPlan:
    """``pl`` (unmapped: a mapped sweep is up to 1.9 times the code) with its channels in
    equal chunks, one copy of the chunk's code. A block of 9 x 17 pixels expanded to 200
    channels with a pointwise conv, in chunks of 128 + 72, takes 50,533 ops; in 2 x 100, not
    peeled, 26,332."""
    count = -(-channels // pl.chunk)
    chunk = -(-channels // count)
    scratch = pl.scratch_bytes // pl.chunk * chunk
    return dataclasses.replace(pl, chunk=chunk, scratch_bytes=scratch, compact=True)


def check_one_chunk(plan: ExpandPlan, channels: int, out: str, acc: str) -> None:
    """Refuse a ``one_chunk`` plan that could not take all ``channels`` in one chunk: the
    block's ``out`` output would round its pointwise sums between chunks (``acc``: their
    type, the output type that does not)."""
    if plan.chunk < channels:
        raise UserError(
            f"--expand with --pointwise and --out-dtype {out} needs all {channels} channels in one "
            f"chunk of the stack scratch (the pointwise sums of several chunks would be rounded in "
            f"the output), which only {plan.chunk} fit: use --out-dtype {acc}, or fewer channels"
        )


def mapped_rows(geo: ConvGeometry, sweeps: bool) -> bool:
    """Whether a ring's depthwise sweep may read its slots through a row map (the ring of
    2-D blocks of stride 1 or 2 with static sizes, whose depthwise code sweeps rows):
    ``MAPPED_ROWS`` output rows a step from ``(MAPPED_ROWS - 1) s + K`` slots, or at stride 2
    one from ``K`` (``plan``). With one output row a step,
    each input vector the sweep loads feeds one output (3 loads per output of a 3 x 3 filter
    at stride 1, where the unfused kernel's 6-row sweeps load 1.3; at stride 2, 6 per
    output where two rows load 5 and its 4-row sweeps 4.5). MobileNetV2 block 7 (stride 2):
    1.0-1.3 % fewer instructions."""
    return (
        sweeps
        and geo.rank == 2
        and rotates(geo)
        and geo.strides[0] in (1, 2)
        and not geo.runtime_sizes
        and geo.out_spatial[0] >= MAPPED_ROWS
    )


def _plan(
    geo: ConvGeometry,
    channels: int,
    multiplier: int,
    elt_bytes: int,
    pointwise: bool,
    cin: int,
    mapped: int,
    one_chunk: bool = False,
    group_all: bool = True,
) -> ExpandPlan:
    """``plan``'s tiling, the ring mapped (``mapped_rows``: ``mapped`` output rows a step)
    or not (0); ``group_all``: whether a ring mapped one row a step may take all the output
    rows in one pointwise GEMM."""
    # The scratch may take ROWS_SCRATCH_BYTES where the chunk's expand weights do not fit in
    # L1 beside SCRATCH_BYTES anyway: whole images (block 15: chunks of 128), an unmapped
    # ring's row groups. A ring mapped one row a step takes ONE_ROW_SCRATCH_BYTES.
    budget = scratch_budget(cin * min(channels, widest_lanes(elt_bytes)) * elt_bytes, SCRATCH_BYTES)
    whole = _whole_image(geo, channels, multiplier, elt_bytes, pointwise, budget)
    if whole is not None and (whole.chunk == channels or not one_chunk):
        return whole
    rank = geo.rank
    ring = rank >= 2
    rotate = ring and rotates(geo)

    def window(j: int, t: int) -> int:
        return (t - 1) * geo.strides[j] + (geo.kernel[j] - 1) * geo.dilations[j] + 1

    def sizes(cols: int, rows: int = 8) -> tuple[tuple[int, ...], tuple[int, ...]]:
        first = mapped or 1
        tile = [first if (ring and j == 0) else geo.out_spatial[j] for j in range(rank)]
        caps = {rank - 1: cols, 1: rows} if rank == 3 else {rank - 1: cols}
        for j, cap in caps.items():  # balanced: 56 columns in two tiles of 28, not 32 + 24
            tile[j] = -(-tile[j] // -(-tile[j] // cap))
        win = tuple(window(j, t) for j, t in enumerate(tile))
        return tuple(tile), win

    def bytes_per_channel(tile: tuple[int, ...], win: tuple[int, ...], group: int = 1) -> int:
        stored = (ring_slots(win[0], rotate) * math.prod(win[1:])) if ring else math.prod(win)
        out = math.prod(tile) * multiplier * group if pointwise else 0
        taps = rotated_rows(geo) * math.prod(geo.kernel[1:]) * multiplier if rotate and not mapped else 0
        return (stored + out + taps) * elt_bytes

    least = channels if one_chunk else min(channels, MIN_CHUNK)  # channels a chunk must take
    cols = MAX_TILE_COLS if rank < 3 else 8
    tile, win = sizes(cols)
    while cols > 1 and bytes_per_channel(tile, win) * least > SCRATCH_BYTES:
        cols -= 1
        tile, win = sizes(cols)
    rows = 8  # a 3-D tile one column wide may still be too large: its rows go next
    while rank == 3 and rows > 1 and bytes_per_channel(tile, win) * least > SCRATCH_BYTES:
        rows -= 1
        tile, win = sizes(cols, rows)
    per_channel = bytes_per_channel(tile, win)
    group = 1
    if mapped == 1:
        # One row a step: no filter copy, and up to ONE_ROW_SCRATCH_BYTES. MobileNetV2 block
        # 4's 144 channels go in one chunk (58,176 bytes); within 56 KiB in 128 + 16, and
        # within 48 KiB in 112 + 32, which ran 1.005 and 1.014 of the unfused kernels at 1024
        # and 2048 bits.
        budget = ONE_ROW_SCRATCH_BYTES
        chunk = ring_chunk(channels, budget // per_channel, elt_bytes)
        # All the output rows through one pointwise GEMM (``row_groups``) where its chunks
        # stay whole vectors at every length (MobileNetV2 block 14: 7 rows of 7 in 5 GEMM
        # blocks, chunks of 128, not 7 GEMMs of a row in chunks of 256: 1.004 -> 0.997 of
        # the unfused kernels at 128 bits, 1.019 -> 1.005 at 2048); else pairs of rows where
        # they keep the chunks (MobileNetV2 block 7: 14 rows of 14, 10 + 9 + 9 pixels a pair).
        height = geo.out_spatial[0]
        groups = row_groups(geo, tile, elt_bytes) if pointwise else []
        if group_all and height in groups:
            grouped = bytes_per_channel(tile, win, height)
            wide = ring_chunk(channels, budget // grouped, elt_bytes)
            if wide == channels or not one_chunk and wide % widest_lanes(elt_bytes) == 0:
                group, chunk, per_channel = height, wide, grouped
        if group == 1 and 2 in groups:
            paired = bytes_per_channel(tile, win, 2)
            if ring_chunk(channels, budget // paired, elt_bytes) == chunk:
                group, per_channel = 2, paired
    else:
        chunk = ring_chunk(channels, SCRATCH_BYTES // per_channel, elt_bytes)
    # Groups of output rows for the pointwise GEMM where the larger scratch keeps the chunks:
    # MobileNetV2 block 2's 96 channels would go in 2 chunks (one-vector GEMMs at 2048 bits).
    for g in row_groups(geo, tile, elt_bytes) if pointwise and not mapped else []:
        grouped = bytes_per_channel(tile, win, g)
        if grouped * chunk <= budget and ring_chunk(channels, budget // grouped, elt_bytes) == chunk:
            group, per_channel = g, grouped
            break
    scratch = per_channel * chunk
    bound = SCRATCH_BYTES if scratch <= SCRATCH_BYTES else budget
    return ExpandPlan(ring, rotate, tile, win, chunk, scratch, group, bound=bound, mapped=mapped > 0)


def _whole_image(
    geo: ConvGeometry, channels: int, multiplier: int, elt_bytes: int, pointwise: bool, budget: int
) -> ExpandPlan | None:
    """One tile of the whole image, where its chunks are whole vectors at every SVE length
    (or all the channels) and it makes fewer GEMM blocks than ring rows and row tiles: the
    window is the expanded input without padding (the depthwise code pads, as the unfused
    kernel does), and each GEMM runs over all the image's pixels.

    MobileNetV2's 7 x 7 blocks expanded a 7-pixel ring row at a time and projected 7 or 14
    pixels at a time, GEMM blocks of 7 pixels where the unfused kernels run blocks of 10:
    with one tile, 49 pixels in 5 blocks, block 15 runs 4.7 to 7.8 % fewer instructions
    (1.02-1.06 to 0.98 of the unfused pipeline), its 960 channels in 8 chunks of 128 within
    the ``budget`` of ``plan`` (56 KiB: the chunk's expand weights do not fit in L1 beside
    48 KiB anyway, as in ``vector_rows.multi_row_tiles``)."""
    if geo.rank != 2 or geo.runtime_sizes or geo.out_spatial[-1] > MAX_TILE_COLS:
        return None
    if not covers_every_output(geo):  # the padded depthwise code skips outputs of padding only
        return None
    pixels_in, pixels_out = math.prod(geo.in_spatial), math.prod(geo.out_spatial)
    per_channel = (pixels_in + (pixels_out * multiplier if pointwise else 0)) * elt_bytes
    chunk = chunk_channels(channels, budget // per_channel, elt_bytes)
    if chunk < channels and chunk % widest_lanes(elt_bytes) or per_channel * chunk > budget:
        return None
    cap = plan_pixels(elt_bytes)
    in_h, in_w = geo.in_spatial
    out_h, out_w = geo.out_spatial
    blocks = gemm_blocks(pixels_in, cap) + (gemm_blocks(pixels_out, cap) if pointwise else 0)
    rows = in_h * gemm_blocks(in_w, cap) + (out_h * gemm_blocks(out_w, cap) if pointwise else 0)
    if blocks >= rows:
        return None
    tile, window = geo.out_spatial, geo.in_spatial
    return ExpandPlan(False, False, tile, window, chunk, per_channel * chunk, whole=True, bound=budget)


def chunk_channels(channels: int, fit: int, elt_bytes: int) -> int:
    """Channels per chunk when ``fit`` fit the scratch (also for ``vector_rows.whole_image``)."""
    chunk = max(1, min(channels, fit))
    if chunk < channels:
        fit = chunk
        # A divisor of C when there is one close by: no second copy of the code for a tail chunk.
        divisors = [d for d in range(chunk, max(chunk // 2, 1) - 1, -1) if channels % d == 0]
        if divisors:
            chunk = divisors[0]
        elif chunk >= 2 * MIN_CHUNK:
            chunk -= chunk % MIN_CHUNK
        # Better, whole vectors at every length: MobileNetV2's 384 channels at 14x14 go as 3
        # chunks of 128, not 4 of 96 (1.5 vectors at 2048 bits, a quarter of the lanes idle).
        # Also at the cost of one more chunk (one more pass of the pointwise GEMM's
        # accumulators) where that saves vector steps at some length and adds none at any:
        # MobileNetV2 block 14 (576 channels) as 4 x 128 + 64, not 4 x 144: +0.3 %
        # instructions at 128 and 256 bits, -2.5 / -10.6 / -20 % at 512 / 1024 / 2048; block
        # 4 (144) as 64 + 64 + 16, not 2 x 72: +1.8 % at 128, -1.3 / -9 / -15 / -0.8 % at 256
        # ... 2048 (its ring then takes 96 + 48, ``ring_chunk``).
        whole = widest_lanes(elt_bytes)
        if fit >= whole:
            wide = fit - fit % whole
            more = -(-channels // wide) - -(-channels // chunk)
            lanes = [bits // (8 * elt_bytes) for bits in SVE_BITS]
            steps = [(_vector_steps(channels, wide, n), _vector_steps(channels, chunk, n)) for n in lanes]
            if more <= 0 or (more == 1 and all(a <= b for a, b in steps) and any(a < b for a, b in steps)):
                chunk = wide
    return chunk


def ring_chunk(channels: int, fit: int, elt_bytes: int) -> int:
    """``chunk_channels``, or fewer chunks with a tail where that adds no vector step at any
    SVE length: each chunk fills its ring again and runs a pass over the pointwise GEMM's
    partial sums. MobileNetV2 block 4's 144 channels as 96 + 48, not 64 + 64 + 16: 3.8 %
    fewer instructions at 2048 bits (the 96 expand in two-vector GEMM blocks), 0.6-1.0 % at
    128-1024."""
    chunk = chunk_channels(channels, fit, elt_bytes)
    lanes = [bits // (8 * elt_bytes) for bits in SVE_BITS]
    steps = [_vector_steps(channels, chunk, n) for n in lanes]
    count = -(-channels // chunk)
    for wider in range(min(fit, channels), chunk, -1):
        fewer = -(-channels // wider) < count
        if fewer and all(_vector_steps(channels, wider, n) <= s for n, s in zip(lanes, steps, strict=True)):
            return wider
    return chunk


MAX_ROW_GROUP = 8  # output rows per pointwise GEMM at most (``row_groups``)


def plan_pixels(elt_bytes: int) -> int:
    """Pixels of a GEMM block at most, as plans weigh them before the IR exists (f32 takes the
    indexed-FMA path, ``gemm_pixels``)."""
    return LANE_PIXELS if elt_bytes == 4 else PIXELS


def row_groups(geo: ConvGeometry, tile: tuple[int, ...], elt_bytes: int, cap: int = 0) -> list[int]:
    """Output rows per pointwise GEMM of a 2-D block that make fewer GEMM blocks than one row
    at a time, fewest first (blocks of up to ``cap`` pixels; default ``LANE_PIXELS`` for
    f32, else ``PIXELS``): pairs, or all the rows (up to ``MAX_ROW_GROUP``). The tile must be
    whole output rows; the scratch then holds the depthwise output of the group. Rows of 14
    pixels (MobileNetV2's 14 x 14 layers) ran GEMM blocks of 7 + 7 each, where the unfused
    1x1 kernel runs pairs in 10 + 9 + 9; 7 rows of 7 are 5 blocks, not 7. Groups of 5 rows of
    14 and a last one of 4 (20 blocks for 14 rows, not 21) ran 0.1-0.8 % more instructions
    than pairs (MobileNetV2 block 7)."""
    out = geo.out_spatial
    if geo.rank != 2 or not all(isinstance(v, int) for v in out) or out[0] < 2 or tile[-1] != out[-1]:
        return []
    cap = cap or plan_pixels(elt_bytes)
    height, width = out

    def blocks(g: int) -> int:
        tail = height % g
        return height // g * gemm_blocks(g * width, cap) + (gemm_blocks(tail * width, cap) if tail else 0)

    sizes = sorted({2, height} if height <= MAX_ROW_GROUP else {2})
    fewer = [g for g in sizes if blocks(g) < blocks(1)]
    return sorted(fewer, key=lambda g: (blocks(g), g))


SVE_BITS = (128, 256, 512, 1024, 2048)  # the SVE vector lengths a chunking is weighed at


def widest_lanes(elt_bytes: int) -> int:
    """Channels in one vector at the longest SVE length: a chunk that is a multiple of it is
    whole vectors at every length."""
    return SVE_BITS[-1] // (8 * elt_bytes)


def _vector_steps(channels: int, chunk: int, lanes: int) -> int:
    """Vector steps over ``channels`` in chunks of ``chunk`` at ``lanes`` per vector."""
    return sum(-(-ct // lanes) * count for _, ct, count in chunks(channels, chunk))


def rotates(geo: ConvGeometry) -> bool:
    """Whether a ring stores each row once and rotates the filter's rows instead: every slot
    of the ring is a tap row (no dilation along the ring dim). Storing each row twice cost
    MobileNetV2's block 2 1.7 % more stores than its unfused kernels, and the five slots of
    a 3-row ring made its 96 channels two chunks (64 + 32: one-vector GEMMs at 2048 bits)."""
    return geo.kernel[0] > 1 and geo.dilations[0] == 1


def rotated_rows(geo: ConvGeometry) -> int:
    """Filter rows of the rotation copy: ``0 .. K-1, 0 .. K-2``."""
    return 2 * geo.kernel[0] - 1


def ring_slots(rows: int, rotate: bool = False) -> int:
    """Slots of a ring of ``rows`` rows. Rotated, ``rows``. Else row ``r`` is at ``r mod rows``
    and again ``rows`` further on when that is below ``2 rows - 1``, so that any ``rows``
    consecutive rows are one contiguous window starting at the first one's slot (which is at
    most ``rows - 1``)."""
    return rows if rotate else 2 * rows - 1


def chunks(channels: int, chunk: int) -> list[tuple[int, int, int]]:
    """(first channel, channels per chunk, count) runs covering the channels."""
    full, rest = divmod(channels, chunk)
    out = [(0, chunk, full)] if full else []
    if rest:
        out.append((full * chunk, rest, 1))
    return out


def for_chunks(channels: int, chunk: int, peel: bool, body) -> None:
    """``body(c0, ct)`` for every chunk of ``chunk_schedule``, a loop per run of equal chunks."""
    for first_c, ct, count in chunk_schedule(channels, chunk, peel):
        loop(0, count, None, lambda k, _, first_c=first_c, ct=ct: body(affine(k, ct, 0, 0, first_c), ct))


def chunk_flags(channels: int, chunk: int, c0: Index, ct: int) -> tuple[ir.Value | None, ir.Value | None]:
    """Whether the chunk ``[c0, c0 + ct)`` is the first and the last of ``channels`` in chunks
    of ``chunk`` (run-time flags; None with one chunk): a pointwise GEMM's partial sums start
    from zero in the first chunk and take the epilogue in the last (``PointwiseGemm``)."""
    runs = chunks(channels, chunk)
    if len(runs) == 1 and runs[0][2] == 1:
        return None, None
    eq = arith.CmpIPredicate.eq
    first = arith.cmpi(eq, index(c0), index(0))
    return first, arith.cmpi(eq, index(affine(c0, 1, 0, 0, ct)), index(channels))


def chunk_epilogue(epi, c0: Index, ct: int, m: int = 1):
    """The depthwise epilogue (``FusedEpilogue`` or None) of channels ``[c0, c0 + ct)`` (x M
    with a multiplier): its bias sliced to the chunk (a residual finds its chunk's views)."""
    if epi is None:
        return None
    bias = subview(epi.bias, [affine(c0, m, 0, 0, 0)], [ct * m]) if epi.bias is not None else None
    return dataclasses.replace(epi, bias=bias, scale=None)


def chunk_schedule(channels: int, chunk: int, peel: bool) -> list[tuple[int, int, int]]:
    """``chunks``' runs in emission order, each one ``scf.for`` (count 1: a static offset).

    With ``peel``, the first and the last chunk stand alone (every chunk, when there are at
    most ``PEELED_CHUNKS``): their pointwise GEMM starts from zero or ends with the epilogue
    and residual with no run-time test, and their offsets fold into the addresses. MobileNetV2
    block 7 (3 chunks of 64): 0.8 % fewer instructions at 128 to 512 bits. The cost is code, a
    copy of the chunk's code per peeled chunk, so the chunks between stay a loop.
    """
    flat = [(c0 + k * ct, ct) for c0, ct, count in chunks(channels, chunk) for k in range(count)]
    out: list[list[int]] = []
    joins = False  # whether the last run may take the next chunk
    for i, (c0, ct) in enumerate(flat):
        alone = peel and (len(flat) <= PEELED_CHUNKS or i in (0, len(flat) - 1))
        if joins and not alone and out[-1][1] == ct:
            out[-1][2] += 1
        else:
            out.append([c0, ct, 1])
        joins = not alone
    return [(c0, ct, count) for c0, ct, count in out]


@dataclass(frozen=True)
class RowRuns:
    """GEMM destinations of whole rows of pixels (``_rows_gemm``): pixel ``p`` at
    ``window[0, slot(p // width), lo + p % width]``."""

    window: ir.Value
    width: int
    lo: int
    slot: Callable[[int | ir.Value], Index]  # a row of the call -> its window row

    def row_col(self, p: Index) -> tuple[Index, Index]:
        """Pixel ``p``'s row of the call and column of the window."""
        if isinstance(p, int):
            return p // self.width, self.lo + p % self.width
        w = index(self.width)
        return arith.divui(p, w), arith.addi(arith.remui(p, w), index(self.lo))

    def at(self, p: Index) -> list[tuple[ir.Value, list[Index]]]:
        r, col = self.row_col(p)
        return [(self.window, [0, self.slot(r), col])]

    def views(self, p0: int, pixels: int) -> list[list[tuple[ir.Value, list[Index]]]]:
        """Pixel ``i``'s destination for a block from static ``p0``: a view of each row's run at
        its first pixel, as ``ExpandGemm`` views whole destination rows (stores through
        one base per row, not a pointer per pixel)."""
        runs: dict[int, list[int]] = {}
        for i in range(pixels):
            runs.setdefault(self.row_col(p0 + i)[0], []).append(i)
        out: list[list[tuple[ir.Value, list[Index]]]] = [[] for _ in range(pixels)]
        for r, run in runs.items():
            view = pixel_view(self.window, [0, self.slot(r)], self.row_col(p0 + run[0])[1], len(run))
            for k, i in enumerate(run):
                out[i] = [(view, [0, 0, k])]
        return out


# A block's GEMMs (expand and pointwise) are functions of their own (``outline.outlined``)
# from an expand of this many input channels: a call costs some 40-80 instructions (saved
# registers, constants made again that the inline code hoisted out of the kernel's loops),
# which a short expand reduction does not pay back at long vectors. MobileNetV2 blocks 8-17
# (CIN 64-160): 0.25-1.3 % fewer instructions at 128 bits, at most 0.35 % more at 2048;
# blocks 2-7 (CIN 16-32): 0.5-1.1 % fewer at 128 bits, up to 2.5 % more at 2048. Outlining
# one GEMM alone moved the register copies into the other's hot loop (block 8's expand GEMM
# +32,512 ``mov`` at 128 bits). The set has no CIN between 32 and 64.
OUTLINED_FROM_CIN = 64


def outlines(ex: FusedExpand) -> bool:
    """Whether a block with expand stage ``ex`` takes its GEMMs out of line (``OUTLINED_FROM_CIN``)."""
    return ex.cin >= OUTLINED_FROM_CIN


class ExpandGemm:
    """``window[p, :] = act(x[p, :] @ We[:, c0:c0+ct] + b)`` for pixels [lo, hi) of one window
    row (run-time bounds), stored to every destination view given."""

    def __init__(self, em, ex: FusedExpand) -> None:
        self.em, self.ex = em, ex

    def __call__(self, x_at, dests, lo: Index, hi: Index, c0: Index, ct: int, rows: bool = False) -> None:
        """The GEMM (``_emit``), in a function of its own where that pays (``outlines``)."""
        with outlined("ex", outlines(self.ex)):
            self._emit(x_at, dests, lo, hi, c0, ct, rows)

    def _emit(
        self,
        x_at,  # pixel p -> indices of its first input channel in ex.input
        # Window buffers and index prefixes of a row (the pixel follows), or runs of whole rows
        # (``RowRuns``, ``_merged_rows``).
        dests,
        lo: Index,
        hi: Index,
        c0: Index,
        ct: int,
        rows: bool = False,
    ) -> None:
        """``rows``: the pixels are several ring rows through one call (``_rows_gemm``)."""
        if isinstance(lo, int) and isinstance(hi, int):  # balanced, as the pointwise GEMM's
            # Ring rows through one call take their blocks of pairs of vectors straight, up
            # to STRAIGHT_BLOCKS: each pixel's row and column are then constants, where a
            # loop of blocks divided every pixel's index by the row width. MobileNetV2 block
            # 14 (10 + 9 + 9) 0.1-1.2 % fewer instructions at 128-2048 bits, 2,800 more ops
            # (44,700); the one-vector blocks too made it 48,100 for no more gain, and 13
            # blocks (two rows of 64 pixels) made the board example's first block 53,800,
            # over the kernel limit.
            straight = rows and gemm_blocks(hi - lo, gemm_pixels(self.em)) <= STRAIGHT_BLOCKS
            blocks = functools.partial(balanced_blocks, straight=straight)

            # A window row of padding only (no output of the tile reads an input column) has none.
            def pixels() -> None:
                cap = gemm_pixels(self.em)
                blocks(lo, hi - lo, cap, lambda p, size: self._pixels(x_at, dests, p, size, c0, ct))

            em = self.em
            if not lane_fmas(em):
                pixels()
                return
            one = scf.IfOp(
                arith.cmpi(arith.CmpIPredicate.ule, index(ct), em.vector_length()), [], has_else=True
            )
            with ir.InsertionPoint(one.then_block):  # the chunk is one vector: longer blocks
                mask = [vector.create_mask(em.vt_mask, [index(ct)])]
                balanced_blocks(
                    lo,
                    hi - lo,
                    ONE_VECTOR_ROW_PIXELS,
                    lambda p, size: self._block(x_at, dests, p, size, c0, ct, index(0), mask),
                )
                scf.YieldOp([])
            with ir.InsertionPoint(one.else_block):
                blocks(
                    lo,
                    hi - lo,
                    gemm_pixels(em),
                    lambda p, size: self._pixels(x_at, dests, p, size, c0, ct, row_tail=True),
                )
                self._row_tail(x_at, dests, lo, hi, c0, ct)
                scf.YieldOp([])
            return
        lo, hi = index(lo), index(hi)
        # Run-time bounds (tiles of a wide row, 3-D tiles): blocks of RUNTIME_PIXELS, then the
        # rest as one block (a 1-pixel block loads its weights for 8 FMAs only). Each block
        # size is a copy of the GEMM code: 8 here (and 7 rests) made 3-D expand blocks too big.
        step = RUNTIME_PIXELS
        full_end = arith.addi(lo, arith.muli(arith.divui(arith.subi(hi, lo), index(step)), index(step)))
        loop_step(lo, full_end, step, lambda p: self._pixels(x_at, dests, p, step, c0, ct), False)
        rests = list(range(1, step))
        switch = scf.IndexSwitchOp([], arith.subi(hi, full_end), rests)
        with ir.InsertionPoint(switch.default_block):
            scf.YieldOp([])
        for i, rest in enumerate(rests):
            with ir.InsertionPoint(switch.case_block(i)):
                self._pixels(x_at, dests, full_end, rest, c0, ct)
                scf.YieldOp([])

    def _row_tail(self, x_at, dests, lo: int, hi: int, c0: Index, ct: int) -> None:
        """The chunk's last channels when at most one vector is left after its pairs of
        vectors (96 at 1024 bits: 64 + 32), over the whole row in blocks of up to
        ``ONE_VECTOR_ROW_PIXELS``: inside each GEMM block of at most 10 pixels they ran as
        blocks of 4 and 5 pixels, 34 instructions per 20 FMAs where a block of 14 runs 79
        per 56 (MobileNetV2 block 2 at 1024 bits)."""
        em = self.em
        vl = em.vector_length()
        main = self._pairs_end(ct)
        rest = arith.subi(index(ct), main)
        ule, ult = arith.CmpIPredicate.ule, arith.CmpIPredicate.ult
        one = scf.IfOp(arith.andi(arith.cmpi(ult, main, index(ct)), arith.cmpi(ule, rest, vl)))
        with ir.InsertionPoint(one.then_block):
            mask = [vector.create_mask(em.vt_mask, [rest])]
            balanced_blocks(
                lo,
                hi - lo,
                ONE_VECTOR_ROW_PIXELS,
                lambda p, size: self._block(x_at, dests, p, size, c0, ct, main, mask),
            )
            scf.YieldOp([])

    def _pairs_end(self, ct: int) -> ir.Value:
        """The end of a chunk's channels in whole pairs of vectors (run time)."""
        width = arith.muli(self.em.vector_length(), index(GEMM_VECTORS))
        return arith.subi(index(ct), arith.remui(index(ct), width))

    def _pixels(
        self, x_at, dests, p0: Index, pixels: int, c0: Index, ct: int, row_tail: bool = False
    ) -> None:
        """The GEMM of ``pixels`` pixels from ``p0``: pairs of vectors of channels, then what is
        left (with ``row_tail``, one vector left is the caller's, ``_row_tail``)."""
        em = self.em
        vl = em.vector_length()
        width = arith.muli(vl, index(GEMM_VECTORS))
        main = self._pairs_end(ct)
        loop_step(
            index(0), main, width, lambda j0: self._block(x_at, dests, p0, pixels, c0, ct, j0, None), False
        )
        tail = scf.IfOp(arith.cmpi(arith.CmpIPredicate.ult, main, index(ct)))
        with ir.InsertionPoint(tail.then_block):
            masks = [
                vector.create_mask(
                    em.vt_mask, [arith.subi(index(ct), arith.addi(main, arith.muli(vl, index(j))))]
                )
                for j in range(GEMM_VECTORS)
            ]
            # At most one vector of channels left (a chunk of 96 at 2048 bits is 64 + 32): one
            # vector of accumulators per pixel, not a second one with every lane masked off.
            one = scf.IfOp(
                arith.cmpi(arith.CmpIPredicate.ule, arith.subi(index(ct), main), vl), [], has_else=True
            )
            with ir.InsertionPoint(one.then_block):
                balanced_blocks(
                    0,
                    0 if row_tail else pixels,  # with ``row_tail`` none: the caller's
                    one_vector_pixels(em),
                    lambda q, size: self._block(x_at, dests, add(p0, q), size, c0, ct, main, masks[:1]),
                )
                scf.YieldOp([])
            with ir.InsertionPoint(one.else_block):
                self._block(x_at, dests, p0, pixels, c0, ct, main, masks)
                scf.YieldOp([])
            scf.YieldOp([])

    def _block(self, x_at, dests, p0: Index, pixels: int, c0: Index, ct: int, j0: ir.Value, masks) -> None:
        """The GEMM of ``pixels`` pixels from ``p0`` (an int where the block's place in the
        call is static) for the vectors of channels from ``j0`` (``masks``: of a tail)."""
        em, ex = self.em, self.ex
        vl = em.vector_length()
        full = masks is None
        masks = masks or [None] * GEMM_VECTORS
        nv = len(masks)  # vectors of channels per pixel
        cols = [j0 if j == 0 else arith.addi(j0, arith.muli(vl, index(j))) for j in range(nv)]
        wcols = [affine(c0, 1, c, 1, 0) for c in cols]  # columns of We: the chunk's channels
        starts = [x_at(affine(p0, 1, 0, 1, i)) for i in range(pixels)]

        def k_step(k: Index, accs: list[ir.Value]) -> list[ir.Value]:
            weights = [em.read_acc(ex.filter, [k, c], m) for c, m in zip(wcols, masks, strict=True)]
            for i in range(pixels):
                *head, ch = starts[i]
                a = vector.broadcast(
                    em.vt, read_scalar(ex.input, [*head, affine(ch, 1, k, 1, 0)], em.vt.element_type)
                )
                for j, wv in enumerate(weights):
                    accs[i * nv + j] = vector.fma(a, wv, accs[i * nv + j])
            return accs

        accs = bias_sums(em, bias_vectors(em, ex.bias, wcols, masks), pixels)
        # CIN in steps of K_UNROLL (fewer loop and address instructions), the rest straight.
        main = ex.cin - ex.cin % K_UNROLL
        if main and lane_fmas(em, quads_of=ex.input):
            weights = weight_reader(em, ex.filter, 0, wcols[0], masks)

            def quad_step(k0: Index, step: list[ir.Value]) -> list[ir.Value]:
                # One 128-bit load per pixel feeds 4 indexed FMAs.
                ws = [[weights(affine(k0, 1, 0, 1, u), j) for j in range(nv)] for u in range(K_UNROLL)]
                quads = (quad(em, ex.input, [*st[:-1], affine(st[-1], 1, k0, 1, 0)]) for st in starts)
                return quad_fmas(em, step, ws, quads, nv)

            accs, main = reduction_quads(ex.cin, accs, quad_step, full)
        elif main:
            accs, main = reduction_quads(ex.cin, accs, lambda k0, a: k_steps(k_step, k0, a), False)
        for k in range(main, ex.cin):
            accs = k_step(k, accs)
        # Stores through a view of each destination row at the block's first pixel: 14-pixel
        # one-vector blocks at 2048 bits paid an add and a shift per store (MobileNetV2 blocks
        # 4 and 7 2.2 % fewer instructions; blocks 2-12 0.1-1.2 % at 512-2048 bits). So do
        # runs of rows (``RowRuns``) from a static first pixel: a pointer per pixel, kept on
        # the stack across the channel loop, cost block 14 0.05-0.35 % more instructions
        # (1.0012 -> 0.9989 of the unfused kernels at 1024 bits, 1.0055 -> 1.0019 at 2048).
        rows = [] if isinstance(dests, RowRuns) else dests
        views = [(pixel_view(dest, prefix, p0, pixels), len(prefix)) for dest, prefix in rows]
        runs = dests.views(p0, pixels) if isinstance(dests, RowRuns) and isinstance(p0, int) else None
        for i in range(pixels):
            if runs is not None:
                targets = runs[i]
            elif isinstance(dests, RowRuns):
                targets = dests.at(affine(p0, 1, 0, 1, i))
            else:
                targets = [(view, [*[0] * lead, i]) for view, lead in views]
            for j, (c, m) in enumerate(zip(cols, masks, strict=True)):
                y = apply_epilogue(accs[i * nv + j], ex.epilogue, None, None)
                for dest, at in targets:
                    em.write(y, dest, [*at, c], m)


def one_vector_pixels(em) -> int:
    """Pixels of a one-vector expand GEMM block at most (``ONE_VECTOR_PIXELS``)."""
    return ONE_VECTOR_PIXELS_UNSCHEDULED if lane_fmas(em) else ONE_VECTOR_PIXELS


ZERO_UNROLL = 4  # whole vectors per iteration of a run of zeros


def zero_pixels(em, dests: list[tuple[ir.Value, list[Index]]], lo: Index, hi: Index, ct: int) -> None:
    """Window pixels [lo, hi) of a row in every destination set to 0 (padding). The pixels of
    a row are one contiguous run of a dense window, zeroed ``ZERO_UNROLL`` whole vectors at a
    time, then in masked steps (a masked loop per pixel ran 6 instructions per vector)."""
    zero = em.zero_vector(em.vt)
    vl = em.vector_length()
    group = arith.muli(vl, index(ZERO_UNROLL))
    for dest, prefix in dests:
        t = ir.MemRefType(dest.type)
        if not dense_layout(t) or t.shape[-1] != ct:
            _zero_pixels_masked(em, dest, prefix, lo, hi, ct, zero)
            continue
        flat = collapse(dest, [t.rank])
        strides, _ = t.get_strides_and_offset()
        row: Index = 0
        for i, stride in zip(prefix, strides, strict=False):
            row = add(row, affine(i, stride, 0, 0, 0))
        start = add(row, affine(lo, ct, 0, 0, 0))
        end = add(row, affine(hi, ct, 0, 0, 0))
        whole = arith.muli(arith.divui(index(sub(end, start)), group), group)
        mid = arith.addi(index(start), whole)

        def vectors(i: ir.Value, flat=flat) -> None:
            for k in range(ZERO_UNROLL):
                at = i if k == 0 else arith.addi(i, arith.muli(vl, index(k)))
                em.write(zero, flat, [at], None)

        loop_step(index(start), mid, group, vectors, False)
        em._chunks(mid, end, lambda c, mask, flat=flat: em.write(zero, flat, [c], mask))


def _zero_pixels_masked(em, dest: ir.Value, prefix: list[Index], lo: Index, hi: Index, ct: int, zero) -> None:
    def pixel(p: ir.Value) -> None:
        em._chunks(0, ct, lambda c, mask: em.write(zero, dest, [*prefix, p, c], mask))

    loop_step(index(lo), index(hi), 1, pixel, False)


def within(first: ir.Value, last: ir.Value, size: Index) -> ir.Value:
    """Whether rows (planes) ``first .. last`` are all in an image of ``size``."""
    return arith.andi(
        arith.cmpi(arith.CmpIPredicate.sge, first, index(0)),
        arith.cmpi(arith.CmpIPredicate.slt, last, index(size)),
    )


def clamp(v: ir.Value, lo: int, hi: int) -> ir.Value:
    return arith.minsi(arith.maxsi(v, index(lo)), index(hi))


class ExpandedBlock:
    """Emit a block with an expand stage (``em``: the block's ``vector_rows._Emitter`` over the
    block input, the depthwise filter and the output)."""

    def __init__(self, em, op, ex: FusedExpand, dw_epilogue, pointwise, make_emitter, alloca, gemm) -> None:
        """``make_emitter(input, filter, output, epilogue)``: a depthwise emitter of a valid conv
        on those buffers; ``alloca(shape, elt)``: a stack buffer; ``gemm(em, pw, scratch, k0,
        first, last)``: the pointwise GEMM of a scratch tile."""
        self.em, self.op, self.ex = em, op, ex
        self.dw_epilogue, self.pw = dw_epilogue, pointwise
        self.make_emitter, self.gemm = make_emitter, gemm
        info = em.info
        flt_t = ir.MemRefType(em.filter.type)
        self.channels = flt_t.shape[info.filter_layout.index("c")]
        self.m = em.m
        self.geo: ConvGeometry = em.geo
        elt, out_elt = em.acc_elt, ir.MemRefType(em.out.type).element_type
        # A rounded output (bf16) cannot hold the pointwise GEMM's partial sums between chunks.
        one_chunk = pointwise is not None and out_elt != elt
        self.plan = plan(
            self.geo,
            self.channels,
            self.m,
            elt.width // 8,
            pointwise is not None,
            ex.cin,
            em.sweeps_rows and em.info.plain_channels_last,  # ``BlockedRows._sweep``'s
            one_chunk,
            compacting(),
        )
        if one_chunk:  # ``artefact.header.check_expand_chunks`` refuses it before any IR
            check_one_chunk(self.plan, self.channels, str(out_elt), str(elt))
        pl, rank = self.plan, self.geo.rank
        win = [ring_slots(pl.window[0], pl.rotate), *pl.window[1:]] if pl.ring else list(pl.window)
        # One stack buffer, viewed densely for each chunk width (a tail chunk's window is
        # narrower): the depthwise code reads a window's pixels as contiguous rows.
        i8 = ir.IntegerType.get_signless(8)
        flat = alloca([math.prod(win) * pl.chunk * elt.width // 8], i8)
        # The expanded input in the conv's input type (a bf16 block's rounded to bf16, as the
        # depthwise code reads its input), in a buffer sized for the accumulators' type (the
        # plan's and the header's bound).
        self.windows = {
            ct: memref.view(ir.MemRefType.get([1, *win, ct], em.in_elt), flat, index(0), [])
            for _, ct, _ in chunks(self.channels, pl.chunk)
        }
        self.cm_dims = self._cm(pl.chunk)
        rows = [pl.group * pl.tile[0], *pl.tile[1:]]
        self.scratch = alloca([1, *rows, *self.cm_dims], elt) if pointwise is not None else None
        if (pl.pair or pl.whole or pl.mapped) and pointwise is not None:  # for the GEMM of several rows
            self.rows_em = rows_target(em, pointwise.residual)
        self.taps: dict[int, ir.Value] = {}  # chunk width -> its rotation copy of the filter
        if pl.filter_copy:
            flt_elt = flt_t.element_type
            inner = [*self.geo.kernel[1:]]
            taps = alloca(
                [rotated_rows(self.geo) * math.prod(inner) * pl.chunk * self.m * flt_elt.width // 8], i8
            )
            self.taps = {
                ct: memref.view(
                    ir.MemRefType.get([rotated_rows(self.geo), *inner, *self._cm(ct)], flt_elt),
                    taps,
                    index(0),
                    [],
                )
                for _, ct, _ in chunks(self.channels, pl.chunk)
            }
        self.tile_dims = list(range(1, rank)) if pl.ring else list(range(rank)) if pl.whole else [0]
        self.gemm_rows = ExpandGemm(em, ex)
        # The block input as (N, H x W, CIN) for ``_merged_rows``: whole rows one run of pixels.
        flat = collapse(ex.input, [1, rank, 1]) if rank == 2 else ex.input
        self.gemm_flat = ExpandGemm(em, dataclasses.replace(ex, input=flat))

    def _cm(self, ct: int) -> list[int]:
        """The (c, m) dims of ``ct`` channels, m only for a multiplier op."""
        return [ct, self.m] if self.em.info.multiplier else [ct]

    def emit(self) -> None:
        em, geo, pl = self.em, self.geo, self.plan

        def tiles(n: Index, level: int, o0: list[Index]) -> None:
            if level == len(self.tile_dims):
                peel = self.pw is not None and geo.rank == 2 and not pl.compact
                for_chunks(self.channels, pl.chunk, peel, lambda c0, ct: self._chunk(n, o0, c0, ct))
                return
            j = self.tile_dims[level]
            size, out = pl.tile[j], geo.out_spatial[j]
            count = -(-out // size)

            def tile(t: Index, _: None) -> None:
                start = t * size if isinstance(t, int) else arith.muli(t, index(size))
                start = (
                    min(start, out - size)
                    if isinstance(start, int)
                    else arith.minsi(start, index(out - size))
                )
                tiles(n, level + 1, [*o0, start])

            loop(0, count, None, tile)

        loop(0, em.n, None, lambda n, _: tiles(n, 0, []))

    # -- one chunk of channels of one tile ------------------------------------------------------
    def _chunk(self, n: Index, o0: list[Index], c0: Index, ct: int) -> None:
        geo, pl = self.geo, self.plan
        first, last = chunk_flags(self.channels, pl.chunk, c0, ct) if self.pw is not None else (None, None)
        window = self.windows[ct]
        if pl.whole:
            self._fill_image(window, n, c0, ct)
            self._depthwise(n, [], o0, window, c0, ct, first, last)
            return
        if not pl.ring:
            prefix: list[Index] = [0]
            self._fill_w(n, [], o0[-1], [(window, prefix)], c0, ct)
            view = window
            self._depthwise(n, [], o0, view, c0, ct, first, last)
            return
        rr, s, pad = pl.window[0], geo.strides[0], geo.pad_lo[0]
        off = rr * -(-pad // rr)  # a first input row (>= -pad) plus off is >= 0
        if pl.filter_copy:
            self._copy_taps(c0, ct)
        self._zero_borders(window, o0, ct)
        if pl.mapped:
            self._mapped_steps(window, n, o0, c0, ct, first, last, off)
            return

        def out_row(od: Index, rows: range, group_row: Index | None = None) -> None:
            a = affine(od, s, 0, 0, -pad)
            if s > 1 and len(rows) == s and self._merges(o0, s):  # the rows each output row adds
                self._merged_rows(window, n, affine(a, 1, 0, 0, rows.start), len(rows), o0, c0, ct, off)
            else:
                self._ring_rows(window, n, a, rows, UNROLLED_RING_ROWS if s == 1 else 1, o0, c0, ct, off)
            slot = arith.remui(index(affine(a, 1, 0, 0, off)), index(rr))
            if pl.rotate:  # the slots in place; tap row kh meets slot (slot + kh) mod RR
                rot = arith.remui(arith.subi(index(rr), slot), index(rr))
                zeros = [0] * (geo.rank - 1 + len(self.cm_dims))
                flt = subview(self.taps[ct], [rot, *zeros], [rr, *geo.kernel[1:], *self._cm(ct)])
                self._depthwise(n, [od], o0, window, c0, ct, first, last, flt, group_row)
                return
            view = subview(window, [0, slot, *([0] * (geo.rank - 1)), 0], [1, rr, *pl.window[1:], ct])
            self._depthwise(n, [od], o0, view, c0, ct, first, last, None, group_row)

        out_h = geo.out_spatial[0]
        new = range(max(0, rr - s), rr)

        if not pl.pair:
            out_row(0, range(rr))
            if out_h > 1:
                loop_step(1, out_h, 1, lambda od: out_row(od, new), unroll=False)
            return

        # G output rows per pointwise GEMM (``row_groups``): row od's depthwise output in row
        # od mod G of the scratch, the GEMM after each group's last row (and after a last,
        # smaller group). Pairs of rows of 14 pay only where the GEMM runs two-vector blocks
        # (of up to 10 pixels), COUT above one vector: from one vector down its blocks take up
        # to 20 pixels, a row is one block either way, and pairs cost MobileNetV2 block 4 1.5 %
        # at 1024 and 1.8 % at 2048 bits, blocks 7 and 8 1.7 and 1.3 % at 2048. There the
        # kernel chooses at run time, and else runs each row's GEMM after it, from row 0.
        em, group = self.em, pl.group
        i1 = ir.IntegerType.get_signless(1)
        cap = gemm_pixels(em)
        if not em.scalable:
            pays = arith.constant(i1, int(self.pw.cout > em.lanes))
        elif group in row_groups(geo, pl.tile, em.acc_elt.width // 8, 2 * cap):
            pays = arith.constant(i1, 1)  # fewer blocks at one vector of COUT too
        else:
            pays = arith.cmpi(arith.CmpIPredicate.ugt, index(self.pw.cout), em.vector_length())
        alone = arith.xori(pays, arith.constant(i1, 1))

        def gemm(when: ir.Value, od0: Index, rows: int) -> None:
            branch = scf.IfOp(when)
            with ir.InsertionPoint(branch.then_block):
                self._group_gemm(n, od0, rows, c0, ct, first, last)
                scf.YieldOp([])

        out_row(0, range(rr), 0)
        gemm(alone, 0, 1)

        def row(od: ir.Value) -> None:
            at = arith.select(pays, arith.remui(od, index(group)), index(0))
            out_row(od, new, at)
            full = arith.cmpi(arith.CmpIPredicate.eq, at, index(group - 1))
            gemm(arith.andi(pays, full), arith.subi(od, index(group - 1)), group)
            gemm(alone, od, 1)

        loop_step(1, out_h, 1, row, unroll=False)
        if out_h % group:
            gemm(pays, out_h - out_h % group, out_h % group)

    def _mapped_steps(
        self, window: ir.Value, n: Index, o0: list[Index], c0: Index, ct: int, first, last, off: int
    ) -> None:
        """A mapped ring (``mapped_rows``): ``T`` output rows a step (the tile's first dim,
        ``MAPPED_ROWS`` or one), from the ring's ``RR = (T - 1) s + K`` slots, input row
        ``ih`` at slot ``(ih + off) mod RR``. Each step expands the rows it does not share
        with the previous one, then the depthwise sweep reads slot ``(first row + j) mod RR``
        as its input row ``j``, into the pointwise scratch (whose GEMM then runs over the
        step's rows, or with a group over the group's) or the output. An odd last output row
        is the second of a last step on the rows before it (the other output row computed
        again, its GEMM not run twice)."""
        geo, pl = self.geo, self.plan
        rr, pad, step, s = pl.window[0], geo.pad_lo[0], pl.tile[0], geo.strides[0]
        out_h = geo.out_spatial[0]
        new = step * s  # input rows a step adds

        # At stride 1 row by row: two rows of 14 through one GEMM call (``_merged_rows``:
        # blocks of 10 + 9 + 9, not 7 + 7 twice) ran MobileNetV2 blocks 3, 5, 8 and 11
        # 0.3-4 % more instructions (block 3 at 2048 bits 0.98 -> 1.02 of the unfused
        # kernels), block 12 0.2 % fewer at 128-512 bits. At stride 2 the rows of each output
        # row merge as the unmapped ring's do (``out_row``).
        merges = s > 1 and self._merges(o0, s)

        def fill(ih0: Index, count: int) -> None:
            if merges and count % s == 0:

                def pair(k: Index, _: None) -> None:
                    self._merged_rows(window, n, affine(ih0, 1, k, s, 0), s, o0, c0, ct, off)

                loop(0, count // s, None, pair)
                return
            self._ring_rows(window, n, ih0, range(count), UNROLLED_RING_ROWS, o0, c0, ct, off)

        def sweep(od: Index, group_row: Index) -> None:
            slot0 = arith.remui(index(affine(od, s, 0, 0, off - pad)), index(rr))

            def row_map(j: Index) -> Index:
                return arith.remui(arith.addi(slot0, index(j)), index(rr))

            self._depthwise(n, [od], o0, window, c0, ct, first, last, None, group_row, row_map)

        def rows(od: Index, gemm_from: int) -> None:
            sweep(od, 0)
            if self.pw is None:
                return
            if pl.tile[-1] == geo.out_spatial[-1]:  # whole rows: one run of pixels
                at = affine(od, 1, 0, 0, gemm_from)
                self._group_gemm(n, at, step - gemm_from, c0, ct, first, last, gemm_from)
                return
            for r in range(gemm_from, step):  # a tile of each row
                self._scratch_row_gemm(n, affine(od, 1, 0, 0, r), o0, r, c0, ct, first, last)

        if step == 1:
            # One row a step: the rows before the first step's new ones, then every output row
            # in one loop (one copy of its code: the first row's own copy, as two rows a step
            # have, made kernels up to 3.1 times the code of the rotated ring's), each into
            # its row of the scratch and one GEMM of all the rows after, with a group.
            if rr > new:
                fill(-pad, rr - new)

            # A group of fewer rows than the image (pairs) runs its GEMM after its last row
            # (scratch row od mod G), and the rows after the last whole group after the loop.
            g = pl.group
            tail = out_h % g if g < out_h else out_h

            def row(od: Index, _: None) -> None:
                fill(affine(od, s, 0, 0, rr - new - pad), new)
                if g == 1:
                    rows(od, 0)
                    return
                if g == out_h:
                    sweep(od, od)
                    return
                at = arith.remui(index(od), index(g))
                sweep(od, at)
                done = scf.IfOp(arith.cmpi(arith.CmpIPredicate.eq, at, index(g - 1)))
                with ir.InsertionPoint(done.then_block):
                    self._group_gemm(n, arith.subi(index(od), index(g - 1)), g, c0, ct, first, last)
                    scf.YieldOp([])

            loop(0, out_h, None, row)
            if g > 1 and tail:
                self._group_gemm(n, out_h - tail, tail, c0, ct, first, last)
            return
        fill(-pad, rr)
        rows(0, 0)
        full = out_h - out_h % step
        if full > step:

            def body(od: ir.Value) -> None:
                fill(affine(od, s, 0, 0, rr - new - pad), new)
                rows(od, 0)

            loop_step(step, full, step, body, unroll=False)
        if out_h % step:
            last_od = out_h - step
            fill(full * s + rr - new - pad, out_h % step * s)
            rows(last_od, step - out_h % step)

    def _ring_rows(
        self,
        window: ir.Value,
        n: Index,
        a: Index,
        rows: range,
        unrolled: int,
        o0: list[Index],
        c0: Index,
        ct: int,
        off: int,
    ) -> None:
        """Input rows ``a + r`` for ``r`` in ``rows`` into their ring slots (``_ring_row``):
        straight up to ``unrolled`` rows, else a loop (one copy of the expansion code)."""
        if len(rows) > unrolled:
            loop(
                rows.start,
                len(rows),
                None,
                lambda r, _: self._ring_row(window, n, affine(a, 1, r, 1, 0), o0, c0, ct, off),
            )
            return
        for r in rows:
            self._ring_row(window, n, affine(a, 1, 0, 0, r), o0, c0, ct, off)

    def _merges(self, o0: list[Index], count: int) -> bool:
        """Whether ``count`` new ring rows go through one GEMM call (``_merged_rows``): 2-D,
        rotated ring, a tile whose in-bounds columns are known, and fewer GEMM blocks than
        row by row (at most ``gemm_pixels`` pixels a block)."""
        if self.geo.rank != 2 or not self.plan.rotate:
            return False
        _, lo, hi = self._columns(o0[-1])
        if not (isinstance(lo, int) and isinstance(hi, int)) or hi <= lo:
            return False
        cap = gemm_pixels(self.em)
        return gemm_blocks(count * (hi - lo), cap) < count * gemm_blocks(hi - lo, cap)

    def _merged_rows(
        self,
        window: ir.Value,
        n: Index,
        ih0: Index,
        count: int,
        o0: list[Index],
        c0: Index,
        ct: int,
        off: int,
    ) -> None:
        """Input rows ``ih0 .. ih0 + count - 1`` into their ring slots through one GEMM call
        over all their in-bounds pixels when every row is in the image (else row by row):
        pixel ``p`` is row ``p // width``, column ``lo + p % width``. A stride-2 block's two
        new rows of 14 pixels then run GEMM blocks of 10 + 9 + 9, not 7 + 7 twice
        (MobileNetV2 block 14)."""
        geo, pl = self.geo, self.plan
        rr = pl.window[0]
        i0, lo, hi = self._columns(o0[-1])
        rest = (o0, c0, ct, off)
        inside = within(index(ih0), index(add(ih0, count - 1)), geo.in_spatial[0])
        branch = scf.IfOp(inside, [], has_else=True)
        with ir.InsertionPoint(branch.then_block):

            def slot(ih: Index) -> ir.Value:
                return arith.remui(index(add(ih, off)), index(rr))

            self._rows_gemm(window, n, ih0, count, (i0, lo, hi), c0, ct, slot)
            scf.YieldOp([])
        with ir.InsertionPoint(branch.else_block):
            loop(0, count, None, lambda r, _: self._ring_row(window, n, affine(ih0, 1, r, 1, 0), *rest))
            scf.YieldOp([])

    def _rows_gemm(self, window, n, ih0, count, cols, c0, ct, slot_of) -> None:
        """Input rows ``ih0 .. ih0 + count - 1`` (in the image) into window rows ``slot_of(ih)``
        through one GEMM call over their pixels [lo, hi) of ``cols = (i0, lo, hi)``
        (``_columns``)."""
        geo = self.geo
        i0, lo, hi = cols
        width = hi - lo
        dests = RowRuns(window, width, lo, lambda r: slot_of(add(ih0, r)))

        # Whole input rows are one run of pixels, each a constant offset from the first: the
        # quads' addresses share one base (a row and column per pixel cost an add per pixel
        # and iteration of the GEMM loop).
        whole_rows = add(i0, lo) == 0 and width == geo.in_spatial[1]
        gemm = self.gemm_flat if whole_rows else self.gemm_rows

        def x_at(p: Index) -> list[Index]:
            if whole_rows:
                return [n, index(add(affine(ih0, width, 0, 0, 0), p)), 0]
            r, col = dests.row_col(p)
            return [n, index(add(ih0, r)), index(add(i0, col)), 0]

        gemm(x_at, dests, 0, count * width, c0, ct, rows=True)

    def _fill_image(self, window: ir.Value, n: Index, c0: Index, ct: int) -> None:
        """The whole expanded image (``ExpandPlan.whole``) through one GEMM call, pixel ``p`` of
        the input at pixel ``p`` of the window, both viewed as N x (H x W) x C (a row and
        column per pixel divided each pixel's index by the width in every block)."""
        rows, width = self.plan.window
        flat = collapse(window, [1, 2, 1])
        self.gemm_flat(lambda p: [n, index(p), 0], [(flat, [0])], 0, rows * width, c0, ct)

    def _copy_taps(self, c0: Index, ct: int) -> None:
        """The chunk's filter rows ``0 .. K-1, 0 .. K-2`` (along the ring dim) into its rotation
        copy: every rotation of the K rows is then a view of K consecutive ones."""
        em, geo = self.em, self.geo
        groups = [geo.rank, len(self.cm_dims)]
        src, dst = collapse(self.em.filter, groups), collapse(self.taps[ct], groups)
        rows = math.prod(geo.kernel)  # of the filter, the ring dim's K rows with their inner dims
        width = ct * self.m
        vt = ir.VectorType.get(
            em.vt.shape, ir.MemRefType(src.type).element_type, scalable=em.vt.scalable_dims
        )
        perm = ir.AffineMap.get_minor_identity(2, 1)
        pad = zero_constant(vt.element_type)
        base = affine(c0, self.m, 0, 0, 0)

        def row(r: Index, _: None) -> None:
            from_row = arith.remui(index(r), index(rows))

            def part(c: ir.Value, mask: ir.Value) -> None:
                at = [from_row, index(affine(base, 1, c, 1, 0))]
                v = vector.transfer_read(vt, src, at, perm, pad, [True], mask=mask)
                vector.transfer_write(None, v, dst, [index(r), c], perm, [True], mask=mask)

            em._chunks(0, width, part)

        loop(0, ir.MemRefType(dst.type).shape[0], None, row)

    def _ring_row(
        self, window: ir.Value, n: Index, ih: Index, o0: list[Index], c0: Index, ct: int, off: int
    ) -> None:
        """Expanded input row (plane) ``ih`` of the tile into its ring slot (both of them
        without rotation)."""
        geo, pl = self.geo, self.plan
        rr = pl.window[0]
        slot = arith.remui(index(affine(ih, 1, 0, 0, off)), index(rr))
        if pl.rotate:
            slots = [slot]
        else:
            # The second copy at slot + RR, but for the last slot, whose window never wraps (its
            # row is stored twice in place, which needs no branch).
            second = arith.select(
                arith.cmpi(arith.CmpIPredicate.ult, slot, index(rr - 1)), arith.addi(slot, index(rr)), slot
            )
            slots = [slot, second]
        ih_v = index(ih)
        branch = scf.IfOp(within(ih_v, ih_v, geo.in_spatial[0]), [], has_else=True)
        with ir.InsertionPoint(branch.then_block):
            if geo.rank == 2:
                self._fill_w(n, [ih_v], o0[-1], [(window, [0, sl]) for sl in slots], c0, ct, borders=False)
            else:
                self._fill_plane(window, n, ih_v, o0, slots, c0, ct)
            scf.YieldOp([])
        with ir.InsertionPoint(branch.else_block):  # a padding row: zeros
            inner = pl.window[1:-1]

            def zero_row(rows: list[Index]) -> None:
                dests = [(window, [0, sl, *rows]) for sl in slots]
                zero_pixels(self.em, dests, 0, pl.window[-1], ct)

            if inner:
                loop(0, inner[0], None, lambda rh, _: zero_row([rh]))
            else:
                zero_row([])
            scf.YieldOp([])

    def _fill_plane(
        self, window: ir.Value, n: Index, id_: ir.Value, o0: list[Index], slots, c0: Index, ct: int
    ) -> None:
        """3-D: the plane's in-bounds window rows (H); its padding rows and columns hold the
        zeros of ``_zero_borders``."""
        geo, pl = self.geo, self.plan
        s, pad = geo.strides[1], geo.pad_lo[1]

        def row(rh: Index, _: None) -> None:
            ih = index(affine(affine(o0[0], s, 0, 0, -pad), 1, rh, 1, 0))
            dests = [(window, [0, sl, rh]) for sl in slots]
            branch = scf.IfOp(within(ih, ih, geo.in_spatial[1]), [], has_else=False)
            with ir.InsertionPoint(branch.then_block):
                self._fill_w(n, [id_, ih], o0[-1], dests, c0, ct, borders=False)
                scf.YieldOp([])

        loop(0, pl.window[1], None, row)

    def _columns(self, ow0: Index) -> tuple[Index, Index, Index]:
        """The first input column of the window of the tile at output column ``ow0``, and its
        in-bounds pixels [lo, hi) (the others are padding)."""
        geo, pl = self.geo, self.plan
        w = geo.rank - 1
        s, pad, width = geo.strides[w], geo.pad_lo[w], pl.window[-1]
        i0 = affine(ow0, s, 0, 0, -pad)
        in_w = geo.in_spatial[w]
        if isinstance(i0, int) and isinstance(in_w, int):  # one tile: the in-bounds pixels known
            lo = min(max(-i0, 0), width)
            return i0, lo, max(min(max(in_w - i0, 0), width), lo)
        lo = clamp(arith.subi(index(0), index(i0)), 0, width)
        return i0, lo, arith.maxsi(clamp(arith.subi(index(in_w), index(i0)), 0, width), lo)

    def _zero_borders(self, window: ir.Value, o0: list[Index], ct: int) -> None:
        """Zeros in every ring slot's padding columns (3-D: and padding rows), once per chunk
        of a tile: the expansion writes only in-bounds pixels, so they stay 0 for all the
        chunk's rows. Zeroing them with every row cost MobileNetV2 block 15 42,000
        instructions at 128 bits (0.75 %), a masked store per vector of every padding pixel
        of all 7 rows of each of 5 chunks."""
        geo, pl = self.geo, self.plan
        _, lo, hi = self._columns(o0[-1])
        width = pl.window[-1]

        def columns(prefix: list[Index]) -> None:
            zero_pixels(self.em, [(window, prefix)], 0, lo, ct)
            zero_pixels(self.em, [(window, prefix)], hi, width, ct)

        def slot(sl: Index, _: None) -> None:
            if geo.rank == 2:
                columns([0, sl])
                return
            s, pad = geo.strides[1], geo.pad_lo[1]

            def row(rh: Index, _: None) -> None:
                ih = index(affine(affine(o0[0], s, 0, 0, -pad), 1, rh, 1, 0))
                branch = scf.IfOp(within(ih, ih, geo.in_spatial[1]), [], has_else=True)
                with ir.InsertionPoint(branch.then_block):
                    columns([0, sl, rh])
                    scf.YieldOp([])
                with ir.InsertionPoint(branch.else_block):
                    zero_pixels(self.em, [(window, [0, sl, rh])], 0, width, ct)
                    scf.YieldOp([])

            loop(0, pl.window[1], None, row)

        loop(0, ring_slots(pl.window[0], pl.rotate), None, slot)

    def _fill_w(
        self, n: Index, outer_in: list[Index], ow0: Index, dests, c0: Index, ct: int, borders: bool = True
    ) -> None:
        """One window row along W: the expansion of its in-bounds input pixels, and with
        ``borders`` zeros in the padding (a ring's are zeroed once per chunk, ``_zero_borders``)."""
        i0, lo, hi = self._columns(ow0)
        if borders:
            zero_pixels(self.em, dests, 0, lo, ct)
            zero_pixels(self.em, dests, hi, self.plan.window[-1], ct)
        i0 = index(i0)
        self.gemm_rows(lambda p: [n, *outer_in, arith.addi(i0, index(p)), 0], dests, lo, hi, c0, ct)

    def _depthwise(
        self,
        n: Index,
        ring_idx: list[Index],
        o0: list[Index],
        view: ir.Value,
        c0: Index,
        ct: int,
        first,
        last,
        flt: ir.Value | None = None,
        group_row: Index | None = None,
        row_map=None,
    ) -> None:
        """The tile's outputs of channels [c0, c0 + ct) from the window ``view`` (with the
        filter ``flt``, default: the chunk's channels of the block's; ``row_map``: the
        emitter's, ``mapped_rows``), then their share of the pointwise conv; with
        ``group_row``, into that row of a group's scratch, the GEMM left to ``_group_gemm``."""
        em, geo, pl = self.em, self.geo, self.plan
        rank, m, mult = geo.rank, self.m, self.em.info.multiplier
        cm_off = [c0, 0] if mult else [c0]
        cm_size = self._cm(ct)
        if flt is None:
            flt = subview(em.filter, [*([0] * rank), *cm_off], [*geo.kernel, *cm_size])
        epi = chunk_epilogue(self.dw_epilogue, c0, ct, m)
        tile = list(pl.tile)
        if self.pw is None:
            dest = subview(em.out, [n, *ring_idx, *o0, *cm_off], [1, *tile, *cm_size])
        else:  # the scratch, or its row of a group
            row = [0] if group_row is None else [group_row]
            dest = subview(self.scratch, [0, *row, *([0] * (rank - 1 + len(cm_size)))], [1, *tile, *cm_size])
        self.make_emitter(view, flt, dest, epi, pl.whole, row_map).run(zero_constant(em.acc_elt))
        if self.pw is None or group_row is not None:
            return
        rows = collapse(dest, [rank + 1, len(cm_size)])  # (tile pixels, ct * M)
        tw = tile[-1]
        k0 = affine(c0, m, 0, 0, 0)
        if pl.whole:
            gemm = self.gemm(self.rows_em, self.pw, rows, k0, first, last)
            gemm(n, [], 0, math.prod(tile))
            return
        outer_tile = tile[1:-1] if pl.ring else []
        if not outer_tile:
            self.gemm(em, self.pw, rows, k0, first, last)(n, [*ring_idx], o0[-1], tw)
            return

        def row(th: Index, _: None) -> None:
            part = subview(rows, [affine(th, tw, 0, 0, 0), 0], [tw, ct * m])
            o_idx = [*ring_idx, affine(o0[0], 1, th, 1, 0)]
            self.gemm(em, self.pw, part, k0, first, last)(n, o_idx, o0[-1], tw)

        loop(0, outer_tile[0], None, row)

    def _scratch_row_gemm(
        self, n: Index, od: Index, o0: list[Index], row: int, c0: Index, ct: int, first, last
    ) -> None:
        """The pointwise GEMM of the tile's output row ``od`` from row ``row`` of the scratch."""
        tw = self.plan.tile[-1]
        cm_size = self._cm(ct)
        part = subview(self.scratch, [0, row, 0, *([0] * len(cm_size))], [1, 1, tw, *cm_size])
        flat = collapse(part, [3, len(cm_size)])  # (tw, ct * M)
        k0 = affine(c0, self.m, 0, 0, 0)
        self.gemm(self.em, self.pw, flat, k0, first, last)(n, [od], o0[-1], tw)

    def _group_gemm(
        self, n: Index, od0: Index, rows: int, c0: Index, ct: int, first, last, from_row: int = 0
    ) -> None:
        """The pointwise GEMM of output rows ``od0 .. od0 + rows - 1`` (``rows`` of the group's
        scratch from ``from_row``), through the output (and the residual input) viewed as
        N x (H x W) x C."""
        m, pl = self.m, self.plan
        width = pl.tile[-1]
        cm_size = self._cm(ct)
        at = [0, from_row, 0, *([0] * len(cm_size))]
        part = subview(self.scratch, at, [1, rows, width, *cm_size])
        flat = collapse(part, [3, len(cm_size)])  # (rows x W, ct * M)
        k0 = affine(c0, m, 0, 0, 0)
        gemm = self.gemm(self.rows_em, self.pw, flat, k0, first, last)
        gemm(n, [], affine(od0, width, 0, 0, 0), rows * width)
