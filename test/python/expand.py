# RUN: %PYTHON %s | FileCheck %s
# The expand GEMM of a fused block (dwmlir.rewrite.expand): how a window row's pixels are cut
# into register blocks.

import collections
import re

from mlir import ir
from mlir.dialects import arith, func, memref

from dwmlir.artefact import lower_to_llvm_dialect
from dwmlir.artefact.header import expand_plan, kernel_block
from dwmlir.rewrite.expand import RowRuns, chunk_channels, chunk_schedule, chunks, ring_chunk, ring_slots
from dwmlir.spec import Activation, BlockSpec, ConvSpec, Epilogue, Expand, Pointwise
from dwmlir.target import get_target

SVE = get_target("aarch64-sve")
NEON = get_target("aarch64-neon")


def run(f):
    print("\nTEST:", f.__name__)
    with ir.Context(), ir.Location.unknown():
        f()
    return f


def gemm_loops(text: str) -> list[tuple[int, int]]:
    """(accumulators, loops) of the reduction loops made of indexed FMAs."""
    out: collections.Counter[int] = collections.Counter()
    for m in re.finditer(r"scf\.for .*iter_args\((.*)\) -> \(", text):
        if "fmla.lane" in text[m.end() : text.find("scf.yield", m.end())]:
            out[m.group(1).count("=")] += 1
    return sorted(out.items())


# Blocks of up to 10 pixels x 2 vectors (f32 on SVE, pointwise.gemm_pixels). A row whose
# in-bounds pixels are known when the kernel is built is cut into balanced blocks: 7 pixels
# are one block (14 accumulators), 14 are two of 7, 28 are 10 + 9 + 9 (20 and 18), none is a
# run of 1-pixel blocks. One vector of channels, a chunk's tail after its pairs of vectors or
# a chunk that is one vector when the kernel runs (C = 64 from 2048 bits), takes a known row
# in blocks of up to 16 pixels (compiled without LLVM's machine scheduler,
# compile.machine_scheduler): W=7 has 6 loops of 7 x 1 accumulators, W=14 and W=28 6 of
# 14 x 1 (the tail's 3 and the one-vector chunk's 3: one loop per copy of a row's expansion,
# at stride 1 the first output row's rows are straight-line code). 56 columns go in two tiles
# of 28 whose in-bounds counts differ at run time (29 and 28): a loop of 4-pixel blocks, then
# a switch on the rest picks a block of 1 to 3 pixels (each size is a copy of the GEMM code).
# At stride 2 every fill of more than one row is a loop (straight-line copies made
# MobileNetV2 block 4 55,500 ops, over the kernel limit), and the two rows of 14 each output
# row adds go through one GEMM call (10 + 9 + 9: 20 and 18 accumulators, each block
# straight, so each pixel's ring row and column are constants), the row by row loop kept for
# a pair that reaches the padding; two rows of 28 would make 6 blocks either way. Both
# stride-2 cases here are mapped rings (two output rows a step: its 4 new rows in a loop of
# 2 such calls, or of single rows), the same blocks as the unmapped ring's.
# CHECK-LABEL: TEST: test_leftover_pixels
# CHECK-NEXT: W=7: [(7, 6), (14, 6)] switch False
# CHECK-NEXT: W=14: [(14, 12)] switch False
# CHECK-NEXT: W=28: [(14, 6), (18, 6), (20, 6)] switch False
# CHECK-NEXT: W=56: [(1, 3), (2, 9), (3, 3), (4, 9), (6, 6), (8, 6)] switch True
# CHECK-NEXT: W=28 stride 2: [(14, 4), (18, 4), (20, 4)]
# CHECK-NEXT: W=14 stride 2: [(14, 10), (18, 4), (20, 2)]
@run
def test_leftover_pixels():
    relu6 = Epilogue(bias=True, activation=Activation("relu6"))
    for w in (7, 14, 28, 56):
        conv = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 40, w, 64), (3, 3, 64), padding="same", name="b")
        text = lower_to_llvm_dialect(BlockSpec(conv, relu6, None, Expand(16, relu6)), SVE)[2]
        print(f"W={w}: {gemm_loops(text)} switch {'scf.index_switch' in text}")
    for w in (28, 14):
        conv = ConvSpec(
            "depthwise_conv_2d_nhwc_hwc", (1, 40, w, 64), (3, 3, 64), (2, 2), padding="same", name="b"
        )
        text = lower_to_llvm_dialect(BlockSpec(conv, relu6, None, Expand(16, relu6)), SVE)[2]
        print(f"W={w} stride 2: {gemm_loops(text)}")


# The ring stores each expanded row once and rotates the filter's rows to match (a view of a
# 2K-1-row copy of the chunk's taps); dilated along the ring dim, rows are stored twice
# (2RR-1 slots) instead. MobileNetV2's block 2 (28x28x96 at stride 2): 3 slots, so its 96
# channels fit one chunk, where 5 slots made them 64 + 32 (one-vector GEMMs at 2048 bits).
# On NEON: SVE's f32 sweeps read a stride-2 ring's slots through a row map instead, with no
# filter copy (test_mapped_rings).
# CHECK-LABEL: TEST: test_ring_rotation
# CHECK-NEXT: 3x3 d1: rotate True, slots 3, chunks [(0, 96, 1)], taps 1
# CHECK-NEXT: 3x3 d2: rotate False, slots 9, chunks [(0, 32, 3)], taps 0
# CHECK-NEXT: 1x3 d1: rotate False, slots 1, chunks [(0, 96, 1)], taps 0
@run
def test_ring_rotation():
    relu6 = Epilogue(bias=True, activation=Activation("relu6"))
    for kernel, dil in (((3, 3), 1), ((3, 3), 2), ((1, 3), 1)):
        conv = ConvSpec(
            "depthwise_conv_2d_nhwc_hwc",
            (1, 28, 28, 96),
            (*kernel, 96),
            (2, 2),
            (dil, dil),
            padding="same",
            name="b",
        )
        block = BlockSpec(conv, relu6, Pointwise(24, Epilogue(bias=True)), Expand(16, relu6))
        pl = expand_plan(block, NEON)
        text = lower_to_llvm_dialect(block, NEON)[2]
        taps = text.count("memref<5x3x96xf32>")
        print(
            f"{kernel[0]}x{kernel[1]} d{dil}: rotate {pl.rotate}, slots {ring_slots(pl.window[0], pl.rotate)}, "
            f"chunks {chunks(96, pl.chunk)}, taps {min(taps, 1)}"
        )


# The pointwise GEMM of a stride-2 ring takes output rows in groups (pairs, or all of them)
# where that makes fewer GEMM blocks (rows of 14: 10 + 9 + 9 a pair, not 7 + 7 twice) and
# the scratch for the group keeps the chunks. Mapped one row a step, so do blocks 2 (96
# channels in one chunk, pairs of rows of 14) and 7 (192 in 128 + 64, pairs, 58,880 bytes
# within the 60 KiB of a one-row ring); block 4 goes row by row, its 144 channels in one
# chunk (58,176 bytes; pairs would not keep it). Block 14 takes its 7 rows of 7 in one
# group, 49 pixels in 5 blocks, not 7, in chunks of 128 (48,128 bytes, within 48 KiB
# without the filter copy).
# A stride-1 ring of f32 on SVE is mapped (expand.mapped_rows): its depthwise sweep and its
# GEMM take two output rows a step (block 8, 384 channels in 128s; 9 rows of 7 too). A 30 x
# 14 block with COUT = 64: the GEMM of each step's two rows runs 10 + 9 + 9 (20 and 18
# accumulators) in two copies (the first step's, the step loop's), each with its masked
# tail; the 14-accumulator loops are the expand GEMM's (7 + 7 pixels, and one vector of 14)
# in its copies of a row.
# CHECK-LABEL: TEST: test_row_pairs
# CHECK-NEXT: b8: rows 1 mapped chunk 128, b4: rows 1 mapped chunk 144, b2: rows 2 mapped chunk 96, 7x9: rows 1 mapped chunk 192
# CHECK-NEXT: b14: rows 7 mapped chunk 128 scratch 48128 bound 49152, b7: rows 2 mapped chunk 128 scratch 58880 bound 61440
# CHECK-NEXT: 30x14: [(14, 14), (18, 4), (20, 4)]
@run
def test_row_pairs():
    relu6 = Epilogue(bias=True, activation=Activation("relu6"))
    out = []
    for name, size, cin, c, cout, s in (
        ("b8", 14, 64, 384, 64, 1),
        ("b4", 28, 24, 144, 32, 2),
        ("b2", 28, 16, 96, 24, 2),
        ("7x9", (9, 7), 160, 960, 160, 1),
    ):
        h, w = size if isinstance(size, tuple) else (size, size)
        conv = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, h, w, c), (3, 3, c), (s, s), padding="same")
        pl = expand_plan(
            BlockSpec(conv, relu6, Pointwise(cout, Epilogue(bias=True)), Expand(cin, relu6)), SVE
        )
        out.append(f"{name}: rows {pl.group}{' mapped' if pl.mapped else ''} chunk {pl.chunk}")
    print(", ".join(out))
    out = []
    for name, size, cin, c, cout in (("b14", 14, 96, 576, 160), ("b7", 28, 32, 192, 64)):
        conv = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, size, size, c), (3, 3, c), (2, 2), padding="same")
        pl = expand_plan(
            BlockSpec(conv, relu6, Pointwise(cout, Epilogue(bias=True)), Expand(cin, relu6)), SVE
        )
        mapped = " mapped" if pl.mapped else ""
        out.append(
            f"{name}: rows {pl.group}{mapped} chunk {pl.chunk} scratch {pl.scratch_bytes} bound {pl.bound}"
        )
    print(", ".join(out))
    conv = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 30, 14, 48), (3, 3, 48), padding="same", name="b")
    block = BlockSpec(conv, relu6, Pointwise(64, Epilogue(bias=True)), Expand(24, relu6))
    print(f"30x14: {gemm_loops(lower_to_llvm_dialect(block, SVE)[2])}")


# A ring's chunks (expand.ring_chunk): chunk_channels', or fewer chunks with a tail where that
# adds no vector step at any SVE length from 128 to 2048 bits. 144 channels with room for
# 105: 96 + 48 (2 chunks; 64 + 64 + 16 are the same 36 / 18 / 9 / 5 / 3 steps in 3 chunks;
# 2 x 72 are 4 steps at 2048 bits); 192: 3 x 64 (96 + 96 would be 4 steps at 2048); 576
# with room for 183: 4 x 128 + 64 (4 x 144 is 12 steps at 2048, 176 + ... 10); all of
# them when they fit; f16 (128 lanes at 2048 bits): 144 with room for 105 as 72 + 72.
# CHECK-LABEL: TEST: test_ring_chunk
# CHECK-NEXT: 144/105: 96 [(0, 96, 1), (96, 48, 1)] (chunk_channels 64)
# CHECK-NEXT: 192/105: 64 [(0, 64, 3)] (chunk_channels 64)
# CHECK-NEXT: 576/183: 128 [(0, 128, 4), (512, 64, 1)] (chunk_channels 128)
# CHECK-NEXT: 96/200: 96 [(0, 96, 1)] (chunk_channels 96)
# CHECK-NEXT: f16 144/105: 72 [(0, 72, 2)] (chunk_channels 72)
@run
def test_ring_chunk():
    for c, fit, elt in ((144, 105, 4), (192, 105, 4), (576, 183, 4), (96, 200, 4), (144, 105, 2)):
        ct = ring_chunk(c, fit, elt)
        name = "f16 " if elt == 2 else ""
        print(f"{name}{c}/{fit}: {ct} {chunks(c, ct)} (chunk_channels {chunk_channels(c, fit, elt)})")


# Chunk loops of a 2-D block with a pointwise conv are peeled: the first and last chunks (all
# of them up to 3) get static offsets, so their pointwise GEMM's "first chunk starts from
# zero" and "last chunk applies the epilogue" tests fold; the chunks between stay one loop.
# Without peeling the runs are chunks()'.
# CHECK-LABEL: TEST: test_chunk_schedule
# CHECK-NEXT: 192/64: [(0, 64, 3)] peeled [(0, 64, 1), (64, 64, 1), (128, 64, 1)]
# CHECK-NEXT: 576/128: [(0, 128, 4), (512, 64, 1)] peeled [(0, 128, 1), (128, 128, 3), (512, 64, 1)]
# CHECK-NEXT: 960/192: [(0, 192, 5)] peeled [(0, 192, 1), (192, 192, 3), (768, 192, 1)]
# CHECK-NEXT: 100/100: [(0, 100, 1)] peeled [(0, 100, 1)]
# CHECK-NEXT: 130/64: [(0, 64, 2), (128, 2, 1)] peeled [(0, 64, 1), (64, 64, 1), (128, 2, 1)]
# CHECK-NEXT: 300/64: [(0, 64, 4), (256, 44, 1)] peeled [(0, 64, 1), (64, 64, 3), (256, 44, 1)]
@run
def test_chunk_schedule():
    for c, ct in ((192, 64), (576, 128), (960, 192), (100, 100), (130, 64), (300, 64)):
        assert chunk_schedule(c, ct, False) == chunks(c, ct)
        print(f"{c}/{ct}: {chunks(c, ct)} peeled {chunk_schedule(c, ct, True)}")


# One tile of the whole image (expand._whole_image) where its chunks are whole vectors at
# every SVE length (or all the channels) and it makes fewer GEMM blocks than ring rows: its
# window is the expanded input without padding, which the depthwise code pads. MobileNetV2's
# 7 x 7 blocks 15 and 17, 960 channels in chunks of 128 within a 56 KiB bound (their expand
# weights stream through L1 anyway), and small images. Not block 14 (stride 2, 14 x 14 input:
# 58 channels would fit), nor block 8 (14 x 14), nor 7 x 7 x 960 from 16 input channels (the
# weights fit in L1 beside a 48 KiB scratch, whose chunks would be 120), nor f16 rows of 8
# (64 pixels take 8 blocks of 8 either way). The GEMMs then run over all 49 pixels of the
# image in blocks of 10 + 10 + 10 + 10 + 9 (20 and 18 accumulators); the smaller ones are
# the one-vector paths (64 channels are one vector from 2048 bits).
# CHECK-LABEL: TEST: test_whole_image
# CHECK-NEXT: b15: whole True chunk 128 scratch 50176 bound 57344
# CHECK-NEXT: b17: whole True chunk 128 scratch 50176 bound 57344
# CHECK-NEXT: b14: whole False chunk 128 scratch 48128 bound 49152
# CHECK-NEXT: b8: whole False chunk 128 scratch 47104 bound 49152
# CHECK-NEXT: 7x7x960/16: whole False chunk 192 scratch 38400 bound 49152
# CHECK-NEXT: 8x8x48/8: whole True chunk 48 scratch 24576 bound 49152
# CHECK-NEXT: f16 8x8x24/8: whole False chunk 24 scratch 2544 bound 49152
# CHECK-NEXT: 7x7x64: [(12, 2), (13, 2), (16, 1), (17, 1), (18, 4), (20, 4)]
@run
def test_whole_image():
    relu6 = Epilogue(bias=True, activation=Activation("relu6"))
    for name, size, cin, c, cout, s, dtype in (
        ("b15", 7, 160, 960, 160, 1, "f32"),
        ("b17", 7, 160, 960, 320, 1, "f32"),
        ("b14", 14, 96, 576, 160, 2, "f32"),
        ("b8", 14, 64, 384, 64, 1, "f32"),
        ("7x7x960/16", 7, 16, 960, 16, 1, "f32"),
        ("8x8x48/8", 8, 8, 48, 8, 1, "f32"),
        ("f16 8x8x24/8", 8, 8, 24, 8, 1, "f16"),
    ):
        conv = ConvSpec(
            "depthwise_conv_2d_nhwc_hwc", (1, size, size, c), (3, 3, c), (s, s), padding="same", dtype=dtype
        )
        pl = expand_plan(
            BlockSpec(conv, relu6, Pointwise(cout, Epilogue(bias=True)), Expand(cin, relu6)), SVE
        )
        print(f"{name}: whole {pl.whole} chunk {pl.chunk} scratch {pl.scratch_bytes} bound {pl.bound}")
    conv = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 7, 7, 64), (3, 3, 64), padding="same", name="b")
    block = BlockSpec(conv, relu6, Pointwise(64, Epilogue(bias=True)), Expand(16, relu6))
    print(f"7x7x64: {gemm_loops(lower_to_llvm_dialect(block, SVE)[2])}")


def reduction_steps(text: str) -> list[tuple[int, int, int]]:
    """(accumulators, reduction steps per iteration, loops) of the indexed-FMA loops."""
    out: collections.Counter[tuple[int, int]] = collections.Counter()
    for m in re.finditer(r"scf\.for .* step %c(\d+)\S* iter_args\((.*)\) -> \(", text):
        if "fmla.lane" in text[m.end() : text.find("scf.yield", m.end())]:
            out[(m.group(2).count("="), int(m.group(1)))] += 1
    return sorted((accs, step, n) for (accs, step), n in out.items())


# GEMM blocks of whole vectors with at most 14 accumulators (pointwise.SMALL_BLOCK_ACCS: 7
# pixels x 2 vectors) take two quads of reduction steps per iteration; larger blocks and the
# masked ones (a chunk's last vectors, the one-vector paths: 14 x 1) one. Rows of
# 14 expand in 7 + 7 (14 accumulators, step 8, one loop per copy of a row's expansion: the
# mapped ring's first rows, in a loop, and a step's two); the pointwise GEMM of a step's two
# rows runs 10 + 9 + 9 (20 and 18, step 4). With CIN = 20 the loop stops at 16 and one quad
# follows it straight: the same loops.
# CHECK-LABEL: TEST: test_reduction_quads
# CHECK-NEXT: cin 16: (accumulators, steps, loops) [(14, 4, 11), (14, 8, 3), (18, 4, 4), (20, 4, 4)]
# CHECK-NEXT: cin 20: (accumulators, steps, loops) [(14, 4, 11), (14, 8, 3), (18, 4, 4), (20, 4, 4)]
@run
def test_reduction_quads():
    relu6 = Epilogue(bias=True, activation=Activation("relu6"))
    for cin in (16, 20):
        conv = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 30, 14, 64), (3, 3, 64), padding="same", name="b")
        block = BlockSpec(conv, relu6, Pointwise(64, Epilogue(bias=True)), Expand(cin, relu6))
        print(
            f"cin {cin}: (accumulators, steps, loops) {reduction_steps(lower_to_llvm_dialect(block, SVE)[2])}"
        )


# A stride-1 ring of f32 on SVE is mapped (expand.mapped_rows) where that keeps the unmapped
# plan's chunks and column tiles: its K + 1 = 4 slots and two output rows per step take one
# value a channel more than 3 slots, one row and the filter copy at rows of 14 (MobileNetV2
# block 8: 47,104 bytes, not 46,592), and no filter copy exists (its taps view is gone from
# the IR, and the header does not mention one). Not mapped: rows of 20 (C = 197 would go in
# chunks of 64, not 112), 144 channels at 14 x 14 (64, not all 144), NEON and the host (no
# sweep), f16, a multiplier op (not BlockedRows' sweep). Stride-2 rings are mapped one row
# a step from K = 3 slots, where that keeps the tiles and chunks, with no filter copy
# either, within 60 KiB: block 4 (its 144 would go in 64s two rows a step; one a step, all
# 144 in 58,176 bytes, not 96 + 48 with the copy), block 14 (its 7 rows in one GEMM) and
# block 7 (128 + 64 with pairs of rows in 58,880 bytes, where two rows a step from 5 slots
# take 3 x 64 in 44,288).
# CHECK-LABEL: TEST: test_mapped_rings
# CHECK-NEXT: b8: mapped True slots 4 tile (2, 14) chunk 128 scratch 47104 taps 0 header copy False
# CHECK-NEXT: b8 neon: mapped False, host: mapped False
# CHECK-NEXT: 20x20x197: mapped False chunk 112
# CHECK-NEXT: 14x14x144: mapped False chunk 144
# CHECK-NEXT: f16: mapped False, multiplier: mapped False
# CHECK-NEXT: b7: mapped True slots 3 tile (1, 14) chunk 128 scratch 58880
# CHECK-NEXT: b4: mapped True slots 3 tile (1, 14) chunk 144 scratch 58176 bound 61440 taps 0 header copy False
# CHECK-NEXT: b14: mapped True slots 3 tile (1, 7) rows 7 chunk 128
@run
def test_mapped_rings():
    relu6 = Epilogue(bias=True, activation=Activation("relu6"))

    def block(shape, c, cin, cout, s=1, dtype="f32", op="depthwise_conv_2d_nhwc_hwc", filt=None):
        conv = ConvSpec(op, (1, *shape, c), filt or (3, 3, c), (s, s), padding="same", dtype=dtype, name="b")
        return BlockSpec(conv, relu6, Pointwise(cout, Epilogue(bias=True)), Expand(cin, relu6))

    b8 = block((14, 14), 384, 64, 64)
    pl = expand_plan(b8, SVE)
    taps = lower_to_llvm_dialect(b8, SVE)[2].count("memref<5x3x128xf32>")
    header = "\n".join(kernel_block(b8, SVE))
    print(
        f"b8: mapped {pl.mapped} slots {ring_slots(pl.window[0], pl.rotate)} tile {pl.tile} chunk {pl.chunk}",
        f"scratch {pl.scratch_bytes} taps {taps} header copy {'copy of the filter' in header}",
    )
    neon, host = get_target("aarch64-neon"), get_target("host")
    print(f"b8 neon: mapped {expand_plan(b8, neon).mapped}, host: mapped {expand_plan(b8, host).mapped}")
    pl = expand_plan(block((20, 20), 197, 8, 8), SVE)
    print(f"20x20x197: mapped {pl.mapped} chunk {pl.chunk}")
    pl = expand_plan(block((14, 14), 144, 24, 24), SVE)
    print(f"14x14x144: mapped {pl.mapped} chunk {pl.chunk}")
    f16 = expand_plan(block((14, 14), 384, 64, 64, dtype="f16"), SVE).mapped
    mult = expand_plan(block((20, 20), 97, 8, 8, op="depthwise_conv_2d_nhwc_hwcm", filt=(3, 3, 97, 2)), SVE)
    print(f"f16: mapped {f16}, multiplier: mapped {mult.mapped}")
    b7 = expand_plan(block((28, 28), 192, 32, 64, 2), SVE)
    b4 = expand_plan(block((28, 28), 144, 24, 32, 2), SVE)
    b14 = expand_plan(block((14, 14), 576, 96, 160, 2), SVE)
    print(
        f"b7: mapped {b7.mapped} slots {ring_slots(b7.window[0], b7.rotate)} tile {b7.tile} chunk {b7.chunk}",
        f"scratch {b7.scratch_bytes}",
    )
    b4_block = block((28, 28), 144, 24, 32, 2)
    taps = len(re.findall(r"memref<5x3x\d+xf32>", lower_to_llvm_dialect(b4_block, SVE)[2]))
    header = "\n".join(kernel_block(b4_block, SVE))
    print(
        f"b4: mapped {b4.mapped} slots {ring_slots(b4.window[0], b4.rotate)} tile {b4.tile} chunk {b4.chunk}",
        f"scratch {b4.scratch_bytes} bound {b4.bound} taps {taps} header copy {'copy of the filter' in header}",
    )
    print(
        f"b14: mapped {b14.mapped} slots {ring_slots(b14.window[0], b14.rotate)} tile {b14.tile}",
        f"rows {b14.group} chunk {b14.chunk}",
    )


# The scratch stays within its stated bound where a tiling can: a whole-image tile only if
# its chunk fits (one channel of a 300 x 28 image is 33,600 bytes with its output: a ring of
# rows instead, here mapped), a 3-D tile one column wide also takes fewer rows (the second
# dim) until min(C, MIN_CHUNK) channels fit (5x5x5 at dilation 2: rows of 8 left room for 4
# of its 8). Where even the smallest tile of one channel (a 9x9 filter at dilation 10: a ring
# of 161 rows of 81) or one pixel of the channels (20,000 f32 before a pointwise conv) is
# larger, the header says the scratch is over its bound instead of stating a bound it breaks.
# CHECK-LABEL: TEST: test_scratch_bounds
# CHECK-NEXT: 300x28x1: whole False tile (2, 28) chunk 1 scratch 704 bound 49152
# CHECK-NEXT: 3-D: tile (1, 2, 1) chunk 8 scratch 49024 bound 49152
# CHECK-NEXT: dilated: scratch 52168 bound 49152
# CHECK-NEXT: header: * 52168 bytes with the pointwise tile (over its bound of 49152 bytes, sized for a 64 KiB L1D:
# CHECK-NEXT: header: * the smallest tile of one channel takes more).
# CHECK-NEXT: 20000 channels: * 80000-byte scratch on the kernel's stack (over its bound of 57344 bytes, sized for a 64 KiB
# CHECK-NEXT: 20000 channels: * L1D: one pixel of its 20000 channels takes more).
# CHECK-NEXT: 2000 channels: * 32000-byte scratch on the kernel's stack (the bound is 32768 bytes).
@run
def test_scratch_bounds():
    def block(op, shape, filt, cin, dilations=(), padding="same"):
        conv = ConvSpec(op, shape, filt, dilations=dilations, padding=padding, name="b")
        return BlockSpec(conv, Epilogue(), Pointwise(4, Epilogue()), Expand(cin, Epilogue()) if cin else None)

    pl = expand_plan(block("depthwise_conv_2d_nhwc_hwc", (1, 300, 28, 1), (3, 3, 1), 4), SVE)
    print(
        f"300x28x1: whole {pl.whole} tile {pl.tile} chunk {pl.chunk} scratch {pl.scratch_bytes} bound {pl.bound}"
    )
    op3 = "depthwise_conv_3d_ndhwc_dhwc"
    pl = expand_plan(block(op3, (1, 12, 12, 12, 8), (5, 5, 5, 8), 4, (2, 2, 2)), SVE)
    print(f"3-D: tile {pl.tile} chunk {pl.chunk} scratch {pl.scratch_bytes} bound {pl.bound}")
    dilated = block("depthwise_conv_2d_nhwc_hwc", (1, 100, 100, 8), (9, 9, 8), 4, (10, 10), 40)
    pl = expand_plan(dilated, SVE)
    print(f"dilated: scratch {pl.scratch_bytes} bound {pl.bound}")
    lines = kernel_block(dilated, SVE)
    at = next(i for i, line in enumerate(lines) if "with the pointwise tile" in line)
    for line in lines[at : at + 2]:
        print("header:", line.strip())
    for c in (20000, 2000):
        lines = kernel_block(block("depthwise_conv_2d_nhwc_hwc", (1, 2, 2, c), (3, 3, c), 0), SVE)
        at = next(i for i, line in enumerate(lines) if "scratch on the kernel's stack" in line)
        for line in lines[at : at + (2 if c > 8192 else 1)]:
            print(f"{c} channels:", line.strip())


# A block whose fastest plan is over the code-size limit is rebuilt with compact expand blocks
# (``limits.rewrite_within_limit``): the unmapped ring, the channels in equal chunks that are
# not peeled (one copy of a chunk's code), the scratch sized for them; the functions say so
# in the vector IR, and the header and NAME.json follow (``Artefacts.compact_expand``).
# CHECK-LABEL: TEST: test_compact_expand
# CHECK-NEXT: fastest: mapped False chunk 128 scratch 49152; compact: mapped False chunk 100 scratch 38400
# CHECK-NEXT: 200 in 128: [(0, 128, 1), (128, 72, 1)], in 100 not peeled: [(0, 100, 2)]
# CHECK-NEXT: 7x15: marked True, header True; 7x6: marked False, header False
@run
def test_compact_expand():
    def block(w):
        conv = ConvSpec("depthwise_conv_2d_nhwc_hwc", (1, 9, w, 200), (3, 3, 200), name="b")
        relu = Epilogue(activation=Activation("relu"))
        return BlockSpec(conv, Epilogue(bias=True), Pointwise(15, relu), Expand(15, Epilogue()))

    fast, small = expand_plan(block(17), SVE), expand_plan(block(17), SVE, compact=True)
    print(
        f"fastest: mapped {fast.mapped} chunk {fast.chunk} scratch {fast.scratch_bytes};",
        f"compact: mapped {small.mapped} chunk {small.chunk} scratch {small.scratch_bytes}",
    )
    print(
        f"200 in 128: {chunk_schedule(200, 128, True)}, in 100 not peeled: {chunk_schedule(200, 100, False)}"
    )
    found = []
    for w in (17, 8):  # 7 x 15 outputs (50,533 ops with the fastest plan), 7 x 6 (within)
        vector = lower_to_llvm_dialect(block(w), SVE)[2]
        header = "\n".join(kernel_block(block(w), SVE, compact="dwmlir.compact_expand" in vector))
        found.append(("dwmlir.compact_expand" in vector, "Planned for code size" in header))
    (m1, h1), (m2, h2) = found
    print(f"7x15: marked {m1}, header {h1}; 7x6: marked {m2}, header {h2}")


# A stride-2 ring's two new rows go through one GEMM call (``_merged_rows``), whose blocks
# cross from one row to the next (28 pixels of rows of 14: 10 + 9 + 9). From a static first
# pixel, a block stores through one view of each row's run (``RowRuns.views``), not through a
# pointer per pixel: the block from pixel 10 is 4 pixels of row 0 from column 11 (``lo`` 1)
# and 6 of row 1 from column 1.
# CHECK-LABEL: TEST: test_row_runs
# CHECK-NEXT: views: memref<1x1x4x8xf32, strided<[384, 128, 8, 1], offset: 216>> memref<1x1x6x8xf32, strided<[384, 128, 8, 1], offset: 264>>
# CHECK-NEXT: pixel 3 at [0, 0, 3], pixel 4 at [0, 0, 0]; at(12): row 0 col 13
@run
def test_row_runs():
    f32, idx = ir.F32Type.get(), ir.IndexType.get()
    module = ir.Module.create()
    with ir.InsertionPoint(module.body):
        fn = func.FuncOp("f", ([], []))
        with ir.InsertionPoint(fn.add_entry_block()):
            window = memref.alloca(ir.MemRefType.get([1, 3, 16, 8], f32), [], [])
            runs = RowRuns(window, 14, 1, lambda r: arith.constant(idx, r + 1) if isinstance(r, int) else r)
            views = runs.views(10, 10)
            types = [str(v[0][0].type) for v in views]  # one view per run: the same for its pixels
            print(
                "views:", *(types[i] if len(set(types[i:j])) == 1 else "differ" for i, j in ((0, 4), (4, 10)))
            )
            r, col = runs.row_col(12)
            print(f"pixel 3 at {views[3][0][1]}, pixel 4 at {views[4][0][1]}; at(12): row {r} col {col}")
            func.ReturnOp([])
