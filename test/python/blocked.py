# RUN: %PYTHON %s | FileCheck %s
# Register-blocked rows (dwmlir.rewrite.blocked): how blocks are shaped, when two output rows
# share a block, when the fill pass disappears, and what a block loads.

import re

from mlir import ir

from dwmlir.artefact import lower_to_llvm_dialect
from dwmlir.artefact.compile import loop_strength_reduction
from dwmlir.rewrite.blocked import (
    LONG_STRIDED_ROWS,
    band_rows,
    band_units,
    block_cap,
    block_rows,
    block_widths,
    blocking,
    covers_every_output,
    pair_rows,
    part_bands,
    row_sweep,
)
from dwmlir.rewrite.nest import ConvGeometry
from dwmlir.rewrite.vector_rows import edge_tiles, fused_tile_pixels, multi_row_tiles, whole_image
from dwmlir.spec import Activation, BlockSpec, ConvSpec, Epilogue, Pointwise, as_block
from dwmlir.target import get_target

SVE = get_target("aarch64-sve")


def run(f):
    print("\nTEST:", f.__name__)
    with ir.Context(), ir.Location.unknown():
        f()
    return f


def geo(spec: ConvSpec) -> ConvGeometry:
    return ConvGeometry(
        in_spatial=spec.in_spatial,
        out_spatial=spec.out_spatial,
        kernel=spec.kernel,
        strides=spec.strides,
        dilations=spec.dilations,
        pad_lo=tuple(lo for lo, _ in spec.padding),
    )


def vector_ir(spec: ConvSpec | BlockSpec) -> str:
    """The vector IR of the kernel itself (``NAME_part``, its threads' twin, follows it)."""
    return lower_to_llvm_dialect(spec, SVE)[2].split(f"func.func @{spec.name}_part(")[0]


# Balanced widths: as few blocks as the cap allows, widths differing by at most one.
# CHECK-LABEL: TEST: test_block_widths
# CHECK-NEXT: 112 [(8, 14)]
# CHECK-NEXT: 14 [(7, 2)]
# CHECK-NEXT: 13 [(7, 1), (6, 1)]
# CHECK-NEXT: 7 [(7, 1)]
# CHECK-NEXT: 1 [(1, 1)]
# CHECK-NEXT: 14/4 [(4, 2), (3, 2)]
# 3-D rows (lone_wide=False) take no lone wide block before a loop of narrow ones.
# CHECK-NEXT: 10/4 [(4, 1), (3, 2)] 3-D [(4, 2), (2, 1)]
# CHECK-NEXT: 13/4 [(4, 1), (3, 3)] 3-D [(4, 3), (1, 1)]
# CHECK-NEXT: 14/4 3-D [(4, 2), (3, 2)]
# CHECK-NEXT: 7/4 3-D [(4, 1), (3, 1)]
@run
def test_block_widths():
    for cols in (112, 14, 13, 7, 1):
        print(cols, block_widths(cols, 8))
    print("14/4", block_widths(14, 4))
    for cols in (10, 13):
        print(f"{cols}/4", block_widths(cols, 4), "3-D", block_widths(cols, 4, lone_wide=False))
    for cols in (14, 7):
        print(f"{cols}/4 3-D", block_widths(cols, 4, lone_wide=False))


# Eight accumulators: 1 x 8 or 2 x 4 at stride 1, half the columns at stride 2. Rows pair
# only in 2-D and 3-D, and only when the widest W segment fills two paired blocks. 2-D
# stride-1 kernels with the taps in registers take blocks of 3 rows of 4 (12 accumulators);
# a 5x5 filter (25 taps) and a 1x9 one (rows share no input) keep pairs.
# CHECK-LABEL: TEST: test_block_shape
# CHECK-NEXT: 1-D s1: cap 8, pairs False, rows 1
# CHECK-NEXT: 2-D s1 OW 56: cap 8 / 4 / 4, pairs True, rows 3
# CHECK-NEXT: 2-D s1 OW 7: cap 8 / 4, pairs False, rows 1
# CHECK-NEXT: 2-D s2 OW 7: cap 4 / 2, pairs True, rows 2
# CHECK-NEXT: 2-D s1 5x5: cap 8 / 4, pairs True, rows 2
# CHECK-NEXT: 2-D s1 1x9: cap 8 / 4, pairs True, rows 2
# CHECK-NEXT: 3-D s1 OW 8: cap 8 / 4, pairs True, rows 2
@run
def test_block_shape():
    cases = (
        ("1-D s1", ConvSpec("depthwise_conv_1d_nwc_wc", (1, 70, 64), (7, 64))),
        ("2-D s1 OW 56", ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 58, 58, 8), (3, 3, 8))),
        ("2-D s1 OW 7", ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 9, 9, 8), (3, 3, 8))),
        ("2-D s2 OW 7", ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 15, 15, 8), (3, 3, 8), (2, 2))),
        ("2-D s1 5x5", ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 60, 60, 8), (5, 5, 8))),
        ("2-D s1 1x9", ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 58, 66, 8), (1, 9, 8))),
        ("3-D s1 OW 8", ConvSpec("depthwise_conv_3d_ndhwc_dhwc", (1, 10, 10, 10, 8), (3, 3, 3, 8))),
    )
    for name, spec in cases:
        g = geo(spec)
        heights = range(1, max(block_rows(g), 2 if g.rank > 1 else 1) + 1)
        caps = " / ".join(str(block_cap(g, h)) for h in heights)
        print(f"{name}: cap {caps}, pairs {pair_rows(g)}, rows {block_rows(g)}")


# No fill pass when every output has an in-bounds tap: the first tap multiplies. Padding
# wider than the filter's reach leaves outputs that are all padding: then a zero fill writes
# those, and the blocks still start from their first product.
# CHECK-LABEL: TEST: test_fill_pass
# CHECK-NEXT: same: covers True, fill loop False, first-tap mulf True
# CHECK-NEXT: pad 3:3 of K=3: covers False, fill loop True, first-tap mulf True
@run
def test_fill_pass():
    same = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 6, 6, 8), (3, 3, 8), padding="same")
    wide = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 4, 8), (3, 8), padding=((3, 3),))
    for name, spec in (("same", same), ("pad 3:3 of K=3", wide)):
        text = vector_ir(spec)
        fill = "memref.collapse_shape %arg2" in text  # the fill writes the output as one flat run
        print(
            f"{name}: covers {covers_every_output(geo(spec))}, fill loop {fill}, first-tap mulf {'arith.mulf' in text}"
        )


# A 2 x 4 block of a 3x3 stride-1 conv loads 4 input rows x 6 columns = 24 vectors (1 x 8
# would load 30) for 72 multiply-adds, and stores 8 vectors; a 3 x 4 block loads 5 x 6 = 30
# for 108. The 9 filter taps are loaded once per channel step, outside the block loops.
# 8 output rows are a pair, then two blocks of 3 rows (the lone block first). (f16: an f32
# kernel on SVE sweeps its rows instead, below.)
# CHECK-LABEL: TEST: test_paired_block
# CHECK-NEXT: block loop: 24 input reads, 0 filter reads, 8 first-tap mulf, 64 fma, 8 writes
# CHECK-NEXT: block loop: 30 input reads, 0 filter reads, 12 first-tap mulf, 96 fma, 12 writes
@run
def test_paired_block():
    spec = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 10, 10, 16), (3, 3, 16), dtype="f16")
    text = vector_ir(spec)
    # The first two W-block loops (scf.for ... step %c4) of the first (unmasked) channel step.
    start = 0
    for _ in range(2):
        start = text.index("step %c4 {", start + 1)
        body = text[start : text.index("} {loop_annotation", start)]
        reads = re.findall(r"vector\.transfer_read (%arg\d)", body)
        print(
            f"block loop: {reads.count('%arg0')} input reads, {reads.count('%arg1')} filter reads, "
            f"{body.count('arith.mulf')} first-tap mulf, {body.count('vector.fma')} fma, "
            f"{body.count('vector.transfer_write')} writes"
        )


def sweep_loop(text: str) -> tuple[str, str] | None:
    """(header line, body) of the first loop carrying accumulators (a row sweep's), or None."""
    if "iter_args(" not in text:
        return None
    start = text.rindex("scf.for", 0, text.index("iter_args("))
    return text[start : text.index("\n", start)], text[start : text.index("} {loop_annotation", start)]


def sweep_ops(body: str) -> str:
    """A sweep loop's first-tap multiplies, tied FMLAs and stores (through memrefs or, in a
    column chain, through pointers)."""
    writes = sum(body.count(w) for w in ("vector.transfer_write", "llvm.store ", "llvm.intr.masked.store"))
    return (
        f"{body.count('arith.mulf')} first-tap mulf, {body.count('llvm.aarch64.sve.fmla')} fmla, "
        f"{writes} writes"
    )


def input_reads(body: str) -> tuple[int, int]:
    """(input, filter) vector reads of a sweep loop: the filter is %arg1, read through its
    memref; the input through its memref or, in a column chain, through pointers."""
    reads = re.findall(r"vector\.transfer_read (%\w+)", body)
    filt = sum(1 for r in reads if r == "%arg1")
    pointer = body.count("llvm.load ") + body.count("llvm.intr.masked.load")
    return len(reads) - filt + pointer, filt


def chain_ops(body: str) -> str:
    """A column chain's offsets (empty asm without side effects) and memory fences."""
    fences = body.count('llvm.inline_asm has_side_effects "", "~{memory}"')
    return f"{body.count('llvm.inline_asm') - fences} column offsets, {fences} fences"


# An f32 3x3 stride-1 kernel on SVE sweeps blocks of up to 6 output rows along W: each
# iteration of the sweep loop takes 3 input columns; per column, each of the 8 input rows is
# loaded once and feeds every tap that reads it (6 new outputs start with a multiply, 6 are
# finished and stored). At stride 2, blocks of 4 rows (9 input rows), 4 columns per
# iteration (2 output columns). Its multiply-adds are SVE's tied FMLA on an all-true predicate
# hidden behind an empty inline asm. The taps stay in registers; the sizes are run-time ones
# in the second kernel (its sweep loop runs a run-time count, then 0, 1 or 2 columns).
# Every access is a row's pointer plus the column's offset: each column's offset is the one
# before plus a column through an empty asm (3 per iteration; at stride 2 one per pair of
# input columns and one per output column, 4), and a memory fence separates the columns.
# C=16 (unpadded, an even width; at run time, an even width of at least 4) also packs two
# pixels per vector when it has 32 lanes: its first sweep loop is that copy's, a stride-2
# sweep of pixel columns in blocks of 6 rows (2 parities of 8 input rows, 2 output columns
# per iteration).
# CHECK-LABEL: TEST: test_row_sweep
# CHECK-NEXT: static: 24 input reads, 0 filter reads, 18 first-tap mulf, 144 fmla, 18 writes, opaque ptrue True, 3 column offsets, 2 fences
# CHECK-NEXT: run-time: 24 input reads, 0 filter reads, 18 first-tap mulf, 144 fmla, 18 writes, opaque ptrue True, 3 column offsets, 2 fences
# CHECK-NEXT: stride 2: 36 input reads, 0 filter reads, 8 first-tap mulf, 64 fmla, 8 writes, opaque ptrue True, 4 column offsets, 3 fences
# CHECK-NEXT: packed: 32 input reads, 0 filter reads, 12 first-tap mulf, 96 fmla, 12 writes, opaque ptrue True, 4 column offsets, 3 fences
# CHECK-NEXT: packed, run-time: 32 input reads, 0 filter reads, 12 first-tap mulf, 96 fmla, 12 writes, opaque ptrue True, 4 column offsets, 3 fences
# CHECK-NEXT: NAME.json: row_sweep True, rows_per_block 6, LSR False, packed_pixels None
# CHECK-NEXT: NAME.json: packed_pixels {'pixels_per_vector': 2, 'when_lanes': 32}
@run
def test_row_sweep():
    op = "depthwise_conv_2d_nhwc_hwc"
    for name, spec in (
        ("static", ConvSpec(op, (1, 14, 30, 24), (3, 3, 24))),
        ("run-time", ConvSpec(op, (None, None, None, 24), (3, 3, 24))),
        ("stride 2", ConvSpec(op, (1, 17, 31, 16), (3, 3, 16), (2, 2))),
        ("packed", ConvSpec(op, (1, 14, 30, 16), (3, 3, 16))),
        ("packed, run-time", ConvSpec(op, (None, None, None, 16), (3, 3, 16))),
    ):
        text = vector_ir(spec)
        _, body = sweep_loop(text)  # carries 12 accumulators (two sets of 6 rows)
        loads, filt = input_reads(body)
        print(
            f"{name}: {loads} input reads, {filt} filter reads, {sweep_ops(body)}, "
            f"opaque ptrue {'llvm.aarch64.sve.convert.from.svbool' in text}, {chain_ops(body)}"
        )
    spec = ConvSpec(op, (1, 14, 30, 24), (3, 3, 24))
    g = geo(spec)
    doc = blocking(g, spec.channels, 4, row_sweep(g, spec.dtype, SVE.scalable))
    lsr = loop_strength_reduction(as_block(spec), SVE)
    print(
        f"NAME.json: row_sweep {doc['row_sweep']}, rows_per_block {doc['rows_per_block']}, LSR {lsr}, "
        f"packed_pixels {doc.get('packed_pixels')}"
    )
    spec = ConvSpec(op, (1, 14, 30, 16), (3, 3, 16))
    g = geo(spec)
    print(
        f"NAME.json: packed_pixels {blocking(g, 16, 4, row_sweep(g, spec.dtype, SVE.scalable))['packed_pixels']}"
    )


def dispatched_widths(text: str) -> list[int]:
    """The cases of a switch whose first case is the loop of full channel steps."""
    lines = text.split("\n")
    for i, line in enumerate(lines[:-2]):
        if "scf.index_switch" in line and "case" in lines[i + 1] and "scf.for" in lines[i + 2]:
            pad = len(lines[i + 1]) - len(lines[i + 1].lstrip())
            return [int(m[1]) for rest in lines[i + 1 :] if (m := re.match(rf" {{{pad}}}case (\d+) ", rest))]
    return []


# A sweep of at most one loop iteration (7 output columns at stride 1, 5 at stride 2) runs
# straight: no loop carries accumulators, and its column offsets are made once, at the
# function's entry (before any loop), through empty asms: 9 input columns at stride 1, and
# the 3 of the filter's columns (its taps are read as the input is); at stride 2, 6 pairs
# of input columns and 5 output columns, whose first offsets (0) are one, and which the
# filter's share. Each row's address is the one before plus a row (an empty asm): 4 + 3
# output rows read 6 + 5 input rows, 14 asms; at stride 2 4 rows read 9, 11. They are made
# where they stand (asms with side effects), in the full channel step and in both variants
# of the masked tail step (reads unmasked or masked). A sweep of
# 8 columns keeps its loop. With a run-time width at stride 1, the full channel steps
# dispatch once per call on the widths whose sweep is one iteration long, each swept as that
# static width; at stride 2 or with padding (border rows and columns) they do not, nor do
# static kernels.
# CHECK-LABEL: TEST: test_straight_sweeps
# CHECK-NEXT: 7 wide: loop False, 12 column offsets at entry, 42 row offsets in loops, 33 row starts in place
# CHECK-NEXT: 5 wide, stride 2: loop False, 10 column offsets at entry, 33 row offsets in loops, 54 row starts in place
# CHECK-NEXT: 8 wide: loop True
# CHECK-NEXT: run-time: widths [5, 6, 7]
# CHECK-NEXT: run-time, stride 2: widths []
# CHECK-NEXT: run-time, SAME: widths []
# CHECK-NEXT: static: widths []
@run
def test_straight_sweeps():
    op = "depthwise_conv_2d_nhwc_hwc"
    for name, spec in (
        ("7 wide", ConvSpec(op, (1, 9, 9, 24), (3, 3, 24))),
        ("5 wide, stride 2", ConvSpec(op, (1, 9, 11, 24), (3, 3, 24), (2, 2))),
        ("8 wide", ConvSpec(op, (1, 9, 10, 24), (3, 3, 24))),
    ):
        text = vector_ir(spec)
        if sweep_loop(text) is not None:
            print(f"{name}: loop True")
            continue
        entry, loops = text.split("scf.for", 1)
        offsets = 'llvm.inline_asm "", "=r,0"'
        starts = 'llvm.inline_asm has_side_effects "", "=r,0"'
        print(
            f"{name}: loop False, {entry.count(offsets)} column offsets at entry, "
            f"{loops.count(offsets)} row offsets in loops, {loops.count(starts)} row starts in place"
        )
    for name, spec in (
        ("run-time", ConvSpec(op, (None, None, None, 24), (3, 3, 24))),
        ("run-time, stride 2", ConvSpec(op, (None, None, None, 24), (3, 3, 24), (2, 2))),
        ("run-time, SAME", ConvSpec(op, (None, None, None, 24), (3, 3, 24), padding="same")),
        ("static", ConvSpec(op, (1, 9, 9, 24), (3, 3, 24))),
    ):
        print(f"{name}: widths {dispatched_widths(vector_ir(spec))}")


# 1-D f32 convs of stride 1 with up to 12 taps sweep their row the same way: the loop takes
# K = 7 input columns, each loaded once and feeding the 7 output columns that read it (7 start
# with a multiply, 7 are finished and stored); 6 accumulators are carried, and one offset:
# every access is one of the 7 input or 7 output column pointers plus that offset, which
# grows by one iteration's columns through an empty asm. A run-time width too (its rest
# dispatched once per call); K = 13 and stride 2 keep their blocks.
# CHECK-LABEL: TEST: test_row_sweep_1d
# CHECK-NEXT: K=7: sweep True, 7 carried, 7 input reads, 7 first-tap mulf, 42 fmla, 7 writes, 1 column offsets, 0 fences
# CHECK-NEXT: K=7, run-time W: sweep True, 7 carried, 7 input reads, 7 first-tap mulf, 42 fmla, 7 writes, 1 column offsets, 0 fences
# CHECK-NEXT: K=13: sweep False
# CHECK-NEXT: K=7, stride 2: sweep False
@run
def test_row_sweep_1d():
    op = "depthwise_conv_1d_nwc_wc"
    for name, spec in (
        ("K=7", ConvSpec(op, (1, 134, 64), (7, 64))),
        ("K=7, run-time W", ConvSpec(op, (1, None, 64), (7, 64))),
        ("K=13", ConvSpec(op, (1, 134, 64), (13, 64))),
        ("K=7, stride 2", ConvSpec(op, (1, 134, 64), (7, 64), (2,))),
    ):
        loop = sweep_loop(vector_ir(spec))
        if loop is None:
            print(f"{name}: sweep False")
            continue
        header, body = loop
        carried = header.split("iter_args(")[1].count(" = %")
        loads, _ = input_reads(body)
        print(
            f"{name}: sweep True, {carried} carried, {loads} input reads, {sweep_ops(body)}, {chain_ops(body)}"
        )


# An f32 3x3x3 stride-1 kernel on SVE sweeps in two passes per channel step. The first holds
# the 18 taps of kd = 0 and 1: its loop takes 3 input columns of 2 planes x 5 rows (blocks of
# 3 output rows), starts 9 outputs with a multiply and stores 9 sums as they are. The second
# holds the 9 taps of kd = 2: 8 input rows (blocks of 6), each output started from its sum
# (18 output reads), 162 multiply-adds, 18 stores through the epilogue (here a bias and
# ReLU: 18 maxima). The taps are loaded per pass (none inside the loops). Both passes read
# and write the output through a flat view, each output row's start the previous one's plus
# the row stride. NAME.json records the passes; rows of 9 outputs or more take blocks of 2 in
# the first pass.
# CHECK-LABEL: TEST: test_row_sweep_3d
# CHECK-NEXT: first pass: 6 carried, 30 input reads, 0 output reads, 0 filter reads, 9 first-tap mulf, 153 fmla, 9 writes (9 to the flat output), 0 maxima
# CHECK-NEXT: second pass: 12 carried, 24 input reads, 18 output reads, 0 filter reads, 0 first-tap mulf, 162 fmla, 18 writes (18 to the flat output), 18 maxima
# CHECK-NEXT: NAME.json: row_sweep True, taps in registers True, passes [{'kd': [0, 1], 'rows_per_block': 3}, {'kd': [2], 'rows_per_block': 6}]
# CHECK-NEXT: rows of 18: passes [{'kd': [0, 1], 'rows_per_block': 2}, {'kd': [2], 'rows_per_block': 6}]
# CHECK-NEXT: run-time sizes: 2 passes, second pass 8 carried
# CHECK-NEXT: f16: sweep False
@run
def test_row_sweep_3d():
    op = "depthwise_conv_3d_ndhwc_dhwc"
    spec = ConvSpec(op, (1, 8, 14, 10, 16), (3, 3, 3, 16))
    block = BlockSpec(spec, epilogue=Epilogue(bias=True, activation=Activation.parse("relu")))
    text = vector_ir(block)
    # The output, or its flat view (the sweep's rows are chained through it).
    out_views = {"%arg3", *re.findall(r"(%\w+) = memref\.collapse_shape %arg3\b", text)}
    loops = []
    while (loop := sweep_loop(text)) is not None:
        loops.append(loop)
        text = text[text.index(loop[1]) + len(loop[1]) :]
    # The first loop of each pass (12 output rows: blocks of 3, then of 6); the tail step's
    # loops follow.
    carried = [h.split("iter_args(")[1].count(" = %") for h, _ in loops]
    for name, (_, body) in (("first pass", loops[0]), ("second pass", loops[carried.index(12)])):
        reads = re.findall(r"vector\.transfer_read (%\w+)", body)
        outputs = sum(reads.count(r) for r in out_views)
        filters = reads.count("%arg1")
        writes = re.findall(r"vector\.transfer_write %\w+, (%\w+)", body)
        flat = sum(w in out_views - {"%arg3"} for w in writes)
        print(
            f"{name}: {carried[loops.index((_, body))]} carried, {len(reads) - filters - outputs} input "
            f"reads, {outputs} output reads, {filters} filter reads, {sweep_ops(body)} ({flat} to the "
            f"flat output), "
            f"{body.count('arith.maximumf')} maxima"
        )
    g = geo(spec)
    doc = blocking(g, spec.channels, 4, row_sweep(g, spec.dtype, SVE.scalable))
    print(
        f"NAME.json: row_sweep {doc['row_sweep']}, taps in registers {doc['taps_in_registers']}, "
        f"passes {doc['sweep_passes']}"
    )
    wide = geo(ConvSpec(op, (1, 8, 14, 20, 16), (3, 3, 3, 16)))
    print(f"rows of 18: passes {blocking(wide, 16, 4, True)['sweep_passes']}")
    dyn = vector_ir(ConvSpec(op, (None, None, None, None, 16), (3, 3, 3, 16)))
    heads = []
    while (loop := sweep_loop(dyn)) is not None:
        heads.append(loop[0].split("iter_args(")[1].count(" = %"))
        dyn = dyn[dyn.index(loop[1]) + len(loop[1]) :]
    print(f"run-time sizes: {2 if 6 in heads and 8 in heads else 1} passes, second pass {max(heads)} carried")
    f16 = vector_ir(ConvSpec(op, (1, 8, 14, 20, 16), (3, 3, 3, 16), dtype="f16"))
    print(f"f16: sweep {'llvm.aarch64.sve.fmla' in f16}")


# Code size: a 3x3(x3) interior block is one straight run of taps; a 5x5x5 filter loops over
# kd, and border rows loop over their in-bounds taps, in loops LLVM is told not to unroll.
# (f16: f32 3x3x3 kernels on SVE sweep their rows, test_row_sweep_3d.)
# CHECK-LABEL: TEST: test_tap_loops
# CHECK-NEXT: 3x3x3 valid: tap loops False
# CHECK-NEXT: 5x5x5 valid: tap loops True, not unrolled True
# CHECK-NEXT: 3x3x3 same: tap loops True, not unrolled True
@run
def test_tap_loops():
    op = "depthwise_conv_3d_ndhwc_dhwc"
    for name, spec in (
        ("3x3x3 valid", ConvSpec(op, (1, 6, 6, 10, 8), (3, 3, 3, 8), dtype="f16")),
        ("5x5x5 valid", ConvSpec(op, (1, 6, 6, 10, 8), (5, 5, 5, 8), dtype="f16")),
        ("3x3x3 same", ConvSpec(op, (1, 6, 6, 10, 8), (3, 3, 3, 8), padding="same", dtype="f16")),
    ):
        lines = vector_ir(spec).splitlines()
        # Each loop carrying accumulators closes at its own indentation with the annotation.
        closes = []
        for i, line in enumerate(lines):
            if "scf.for" in line and "iter_args(" in line:
                indent = len(line) - len(line.lstrip())
                end = next(e for e in lines[i + 1 :] if len(e) - len(e.lstrip()) == indent)
                closes.append("loop_annotation" in end)
        out = f"{name}: tap loops {bool(closes)}"
        print(out + (f", not unrolled {all(closes)}" if closes else ""))


# Strided 2-D rows of run-time width: rows of at least LONG_STRIDED_ROWS outputs get their own
# copy (column bases); stride 1, and static sizes, have no such split. (f16: f32 3x3 kernels on
# SVE sweep their rows.)
# CHECK-LABEL: TEST: test_long_strided_rows
# CHECK-NEXT: stride 2, run-time W: 1 split at 16
# CHECK-NEXT: stride 1, run-time W: 0 splits
# CHECK-NEXT: stride 2, static W: 0 splits
@run
def test_long_strided_rows():
    op = "depthwise_conv_2d_nhwc_hwc"
    for name, spec in (
        ("stride 2, run-time W", ConvSpec(op, (1, 9, None, 16), (3, 3, 16), (2, 2), dtype="f16")),
        ("stride 1, run-time W", ConvSpec(op, (1, 9, None, 16), (3, 3, 16), dtype="f16")),
        ("stride 2, static W", ConvSpec(op, (1, 9, 41, 16), (3, 3, 16), (2, 2), dtype="f16")),
    ):
        splits = len(re.findall(rf"arith\.cmpi sge, %\w+, %c{LONG_STRIDED_ROWS} ", vector_ir(spec)))
        print(
            f"{name}: {splits} split{'s' if splits != 1 else ''}"
            + (f" at {LONG_STRIDED_ROWS}" if splits else "")
        )


# Narrow rows of run-time size carry their input start from row to row (one index iter_arg
# per row loop, in each case of the width dispatch); static sizes recompute it. (f16: an f32
# kernel on SVE sweeps its rows, test_row_sweep.)
# CHECK-LABEL: TEST: test_carried_rows
# CHECK-NEXT: run-time H and W: 7 row loops carry a start
# CHECK-NEXT: static: 0 row loops carry a start
@run
def test_carried_rows():
    op = "depthwise_conv_2d_nhwc_hwc"
    for name, spec in (
        ("run-time H and W", ConvSpec(op, (1, None, None, 16), (3, 3, 16), dtype="f16")),
        ("static", ConvSpec(op, (1, 9, 9, 16), (3, 3, 16), dtype="f16")),
    ):
        loops = len(re.findall(r"scf\.for .* iter_args\(%\w+ = %\w+\) -> \(index\)", vector_ir(spec)))
        print(f"{name}: {loops} row loops carry a start")


# Bands of rows (input and output together over 1 MiB): rows per band so that a band reads
# at most 256 KiB of input (512 KiB in 3-D; a whole number of blocks of rows), and the bands per
# batch entry NAME_part shares out. Other 2-D and 3-D kernels get about 16 bands in
# NAME_part only, and kernels with fewer than 8 bands get at least 8 there. 30x30x192
# (675 + 588 KiB) has bands, 16x16x576 (576 + 441 KiB) does not. A whole call of a sweep
# takes the tallest bands of whole blocks that divide the run and read at most 320 KiB
# (run_band_rows): 18 rows of 114x114x32, 12 of 30x30x192.
# CHECK-LABEL: TEST: test_band_rows
# CHECK-NEXT: 114x114x32 s1: 15 rows, 8 bands
# CHECK-NEXT: 113x113x96 s2: 2 rows, 28 bands
# CHECK-NEXT: 58x58x144 s1: 5 rows, 12 bands
# CHECK-NEXT: 30x30x192 s1: 9 rows, 4 bands
# CHECK-NEXT: 16x16x576 s1: no bands
# CHECK-NEXT: 66x66x64 same: 13 rows, 7 bands
# CHECK-NEXT: 18x18x18x64: 4 rows, 4 bands
# CHECK-NEXT: swept 114x114x32 s1: 12 rows, 10 bands; NAME_part 12 per band; a whole call 18
# CHECK-NEXT: swept 113x113x96 s2: 4 rows, 14 bands; NAME_part 4 per band; a whole call 4
# CHECK-NEXT: swept 58x58x144 s1: 6 rows, 10 bands; NAME_part 6 per band; a whole call 6
# CHECK-NEXT: swept 30x30x192 s1: 6 rows, 5 bands; NAME_part 4 per band; a whole call 12
# CHECK-NEXT: swept 66x66x64 same: 12 rows, 8 bands; NAME_part 9 per band; a whole call 12
# CHECK-NEXT: NAME_part 16x16x576 s1: 2 per band, 7 bands
# CHECK-NEXT: NAME_part 30x30x192 s1 (4 bands of 9): 4 per band, 7 bands
# CHECK-NEXT: NAME_part 10x10x10x256 (3 bands of 3): 1 per band, 8 bands
# CHECK-NEXT: NAME_part 18x18x18x64 (4 bands of 4): 2 per band, 8 bands
# CHECK-NEXT: NAME_part 114x114x32 s1 (8 bands of 15): 14 per band, 8 bands
# CHECK-NEXT: NAME_part 9x9x960 s1: 2 per band, 4 bands
# CHECK-NEXT: NAME_part 10x10x10x64: 1 per band, 8 bands
# CHECK-NEXT: NAME_part 3x12x64 (one output row): channels
@run
def test_band_rows():
    op2, op3 = "depthwise_conv_2d_nhwc_hwc", "depthwise_conv_3d_ndhwc_dhwc"
    for name, spec in (
        ("114x114x32 s1", ConvSpec(op2, (1, 114, 114, 32), (3, 3, 32))),
        ("113x113x96 s2", ConvSpec(op2, (1, 113, 113, 96), (3, 3, 96), (2, 2))),
        ("58x58x144 s1", ConvSpec(op2, (1, 58, 58, 144), (3, 3, 144))),
        ("30x30x192 s1", ConvSpec(op2, (1, 30, 30, 192), (3, 3, 192))),
        ("16x16x576 s1", ConvSpec(op2, (1, 16, 16, 576), (3, 3, 576))),
        ("66x66x64 same", ConvSpec(op2, (1, 66, 66, 64), (3, 3, 64), padding="same")),
        ("18x18x18x64", ConvSpec(op3, (1, 18, 18, 18, 64), (3, 3, 3, 64))),
    ):
        g = geo(spec)
        rows = band_rows(g, spec.channels, 4)
        plural = "s" if rows != 1 else ""
        print(f"{name}: {rows} row{plural}, {band_units(g, rows)} bands" if rows else f"{name}: no bands")
    # Rows swept along W (SVE, f32: ``row_sweep``) take bands of whole sweep blocks (6 rows, 4
    # at stride 2), at least one, though the budget allows 15, 2, 5, 9 or 13 rows.
    for name, spec in (
        ("114x114x32 s1", ConvSpec(op2, (1, 114, 114, 32), (3, 3, 32))),
        ("113x113x96 s2", ConvSpec(op2, (1, 113, 113, 96), (3, 3, 96), (2, 2))),
        ("58x58x144 s1", ConvSpec(op2, (1, 58, 58, 144), (3, 3, 144))),
        ("30x30x192 s1", ConvSpec(op2, (1, 30, 30, 192), (3, 3, 192))),
        ("66x66x64 same", ConvSpec(op2, (1, 66, 66, 64), (3, 3, 64), padding="same")),
    ):
        g = geo(spec)
        rows = band_rows(g, spec.channels, 4, sweep=True)
        part = part_bands(g, spec.channels, 4, sweep=True)
        whole = blocking(g, spec.channels, 4, sweep=True)["bands"]["whole_call_rows"]
        print(
            f"swept {name}: {rows} rows, {band_units(g, rows)} bands; NAME_part {part} per band; "
            f"a whole call {whole}"
        )
    # NAME_part of a kernel without bands still shares rows: about 16 bands (blocks of rows
    # kept; pairs where blocks of 3 rows would leave fewer than 8 bands; swept rows at least
    # two to a band).
    for name, spec in (
        ("16x16x576 s1", ConvSpec(op2, (1, 16, 16, 576), (3, 3, 576))),
        ("30x30x192 s1 (4 bands of 9)", ConvSpec(op2, (1, 30, 30, 192), (3, 3, 192))),
        ("10x10x10x256 (3 bands of 3)", ConvSpec(op3, (1, 10, 10, 10, 256), (3, 3, 3, 256))),
        ("18x18x18x64 (4 bands of 4)", ConvSpec(op3, (1, 18, 18, 18, 64), (3, 3, 3, 64))),
        ("114x114x32 s1 (8 bands of 15)", ConvSpec(op2, (1, 114, 114, 32), (3, 3, 32))),
        ("9x9x960 s1", ConvSpec(op2, (1, 9, 9, 960), (3, 3, 960))),
        ("10x10x10x64", ConvSpec(op3, (1, 10, 10, 10, 64), (3, 3, 3, 64))),
        ("3x12x64 (one output row)", ConvSpec(op2, (1, 3, 12, 64), (3, 3, 64))),
    ):
        g = geo(spec)
        rows = part_bands(g, spec.channels, 4)
        print(
            f"NAME_part {name}: {rows} per band, {band_units(g, rows)} bands"
            if rows
            else f"NAME_part {name}: channels"
        )


# A long filter's border columns (1-D K=31 SAME: 16 to 30 in-bounds taps each) loop over their
# taps 4 at a time: one such loop per side and channel step (full, masked tail: C=48 leaves a
# tail from 512 bits on). A SiLU epilogue after the 8-column interior blocks runs in a second
# pass, one output at a time: 10 divisions in the kernel, where every block inlined 8 (49
# before). C=64 has no tail step (no SVE vector length leaves one): 2 loops, 4 divisions.
# CHECK-LABEL: TEST: test_long_filter_borders
# CHECK-NEXT: silu C=48: 4 loops of 4 border taps, 10 divf
# CHECK-NEXT: relu C=48: 4 loops of 4 border taps, 0 divf
# CHECK-NEXT: silu C=64: 2 loops of 4 border taps, 4 divf
@run
def test_long_filter_borders():
    for act, c in (("silu", 48), ("relu", 48), ("silu", 64)):
        conv = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 128, c), (31, c), padding="same", name="k")
        text = vector_ir(BlockSpec(conv, Epilogue(bias=True, activation=Activation(act))))
        steps = re.findall(r"scf\.for %\w+ = %\w+ to %\w+ step %c4 iter_args", text)
        print(f"{act} C={c}: {len(steps)} loops of 4 border taps, {text.count('arith.divf')} divf")


# A fused 1-D block with SiLU stores each tile's raw sums to the scratch, then applies bias
# and SiLU in one pass over the tile (after all its channel steps), its vector constants made
# once before that pass through an empty inline asm (pinned: LLVM rematerialized them in every
# iteration, 43 instructions per vector against 34). Not for ReLU6 (no second pass), nor for a
# kernel without a pointwise conv (its 8-column blocks keep their own pass, unpinned).
# CHECK-LABEL: TEST: test_fused_silu_pass
# CHECK-NEXT: silu + pointwise: pinned constants True
# CHECK-NEXT: relu6 + pointwise: pinned constants False
# CHECK-NEXT: silu alone: pinned constants False
@run
def test_fused_silu_pass():
    conv = ConvSpec("depthwise_conv_1d_nwc_wc", (1, 40, 64), (31, 64), padding="same", name="c")
    silu = Epilogue(bias=True, activation=Activation("silu"))
    relu6 = Epilogue(bias=True, activation=Activation("relu6"))
    for what, block in (
        ("silu + pointwise", BlockSpec(conv, silu, Pointwise(16, Epilogue()))),
        ("relu6 + pointwise", BlockSpec(conv, relu6, Pointwise(16, Epilogue()))),
        ("silu alone", BlockSpec(conv, silu)),
    ):
        text = vector_ir(block)
        pinned = 'llvm.inline_asm "", "=w,0"' in text
        print(f"{what}: pinned constants {pinned}")


# Rows per tile of a fused 2-D block's interior rows: as many whole output rows as the 32 KiB
# scratch holds (MobileNetV1's 14-wide rows: 4 at C = 32 and 128, 2 at 256, one at 512), f32 on
# SVE with static sizes only. Where the pointwise weights do not fit in L1 beside that scratch
# (more than 32 KiB) and the filter has several rows, the scratch may take 56 KiB: 4 rows at
# C = 256, a pair at 512, still one at 1024 (a pair would be 112 KiB). A 1-row filter takes it
# only where the larger tile takes fewer GEMM blocks per pixel (blocks of at most 10 pixels):
# a pair of rows of 14 at C = 512 (28 pixels in 3 blocks, not 14 in 2), but not 4 rows at
# C = 256 (56 pixels in 6 blocks, as many per pixel as 28 in 3). The scratch then holds the
# larger tile (fused_tile_pixels).
# CHECK-LABEL: TEST: test_multi_row_tiles
# CHECK-NEXT: C=32: 4, C=128: 4, C=256: 2, C=512: 1, f16: 1, NEON: 1, 1-D: 1
# CHECK-NEXT: big weights: C=256: 4, C=512: 2, C=1024: 1, 1x1: 2, 1x1 C=256: 2, 32 KiB of weights: 1
# CHECK-NEXT: scratch pixels: C=256: 56, C=512: 28, C=1024: 8, small weights C=512: 16
@run
def test_multi_row_tiles():
    def rows(
        c: int,
        f32: bool = True,
        scalable: bool = True,
        op: str = "depthwise_conv_2d_nhwc_hwc",
        weights: int = 0,
        k: int = 3,
        pixels: bool = False,
    ) -> int:
        shape, flt = ((1, 14, 14, c), (k, k, c)) if "2d" in op else ((1, 14, c), (k, c))
        spec = ConvSpec(op, shape, flt, padding="same")
        if pixels:
            return fused_tile_pixels(geo(spec), c, 4, scalable, f32, weights)
        return multi_row_tiles(geo(spec), c, 4 if f32 else 2, scalable, f32, weights)

    print(
        f"C=32: {rows(32)}, C=128: {rows(128)}, C=256: {rows(256)}, C=512: {rows(512)}, "
        f"f16: {rows(32, f32=False)}, NEON: {rows(32, scalable=False)}, "
        f"1-D: {rows(32, op='depthwise_conv_1d_nwc_wc')}"
    )
    big = 32 * 1024 + 4
    print(
        f"big weights: C=256: {rows(256, weights=big)}, C=512: {rows(512, weights=big)}, "
        f"C=1024: {rows(1024, weights=big)}, 1x1: {rows(512, weights=big, k=1)}, "
        f"1x1 C=256: {rows(256, weights=big, k=1)}, "
        f"32 KiB of weights: {rows(512, weights=32 * 1024)}"
    )
    print(
        f"scratch pixels: C=256: {rows(256, weights=big, pixels=True)}, "
        f"C=512: {rows(512, weights=big, pixels=True)}, C=1024: {rows(1024, weights=big, pixels=True)}, "
        f"small weights C=512: {rows(512, pixels=True)}"
    )


# Where a block's first and last row tiles can hold its border rows (the rows that read a
# padding row) with whole tiles between, and that makes fewer GEMM blocks of up to 10 pixels,
# they do (COUT >= 128): 14 rows of 14 in pairs as 2 + 5 x 2 + 2 (21 blocks of the GEMM, not
# 2 x 2 + 6 x 3 = 22 row by row at the borders); 7 rows in pairs as 2 + 2 + 2 + 1; 14 rows in
# 4s as 4 + 4 + 4 + 2. Not at COUT = 64 (the tiles' border code costs more than the blocks
# save), nor where no row reads padding, nor where the tiles save no block (7-wide rows: 14
# pixels are 2 blocks, as two rows of 7 are).
# CHECK-LABEL: TEST: test_edge_tiles
# CHECK-NEXT: 14x14 pairs: (2, 2), 7x14 pairs: (2, 1), 14x14 4s: (4, 2), COUT=64: None, valid: None, 7x7 pairs: None
@run
def test_edge_tiles():
    def edges(
        h: int, w: int, per_tile: int, cout: int = 512, padding: str = "same"
    ) -> tuple[int, int] | None:
        spec = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, h, w, 512), (3, 3, 512), padding=padding)
        return edge_tiles(geo(spec), per_tile, cout)

    print(
        f"14x14 pairs: {edges(14, 14, 2)}, 7x14 pairs: {edges(7, 14, 2)}, 14x14 4s: {edges(14, 14, 4)}, "
        f"COUT=64: {edges(14, 14, 2, 64)}, valid: {edges(14, 14, 2, padding='valid')}, "
        f"7x7 pairs: {edges(7, 7, 2)}"
    )


# A plain block in one tile of the whole image per chunk of channels (vector_rows.whole_image):
# where that makes a fifth fewer GEMM blocks than pairs of rows (49 pixels in 5 blocks, not 7)
# and the chunks, within the scratch with a dense copy of their input, are whole vectors at
# every length that divide the channels. MobileNetV1's block 13 (7 x 7 x 1024, 56 KiB: its
# weights do not fit in L1) and its 1x1 conv, in chunks of 128; not block 12 (a 14 x 14 input
# to copy leaves 58 channels a chunk), nor MobileNetV2 block 15's 1x1 project (960 channels: a
# tail chunk of 64, whose GEMM blocks' setup ran for 64 reduction steps only: 0.7-1.1 % more
# instructions), nor 14 x 14 outputs (20 blocks, pairs make 21); a small stride-2 block in one
# chunk.
# CHECK-LABEL: TEST: test_whole_image
# CHECK-NEXT: mnv1_b13 128, mnv1_b13 1x1 128, mnv1_b12 0, mnv2_b15 1x1 0, 14x14x512 0, 14x14x24 s2 24
@run
def test_whole_image():
    out = []
    for name, size, k, c, cout, s in (
        ("mnv1_b13", 7, 3, 1024, 1024, 1),
        ("mnv1_b13 1x1", 7, 1, 1024, 1024, 1),
        ("mnv1_b12", 14, 3, 512, 1024, 2),
        ("mnv2_b15 1x1", 7, 1, 960, 160, 1),
        ("14x14x512", 14, 3, 512, 512, 1),
        ("14x14x24 s2", 14, 3, 24, 24, 2),
    ):
        conv = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, size, size, c), (k, k, c), (s, s), padding="same")
        out.append(f"{name} {whole_image(ConvGeometry.of_spec(conv), c, 4, True, True, cout)}")
    print(", ".join(out))
