"""Hypothesis strategies for valid ``ConvSpec``s, targets and SVE vector lengths.

Specs are valid by construction: the output extent is drawn first and the input extent is
computed backwards from it, so no example is ever filtered out. Everything op-specific is
read from the op table (layout letters ``n c m d h w``) and from ``SUPPORTED_OPS`` /
``SUPPORTED_DTYPES`` at draw time, so new ops and element types are fuzzed without edits
here. Small values come first everywhere so that hypothesis shrinks towards tiny specs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from ..artefact.header import check_expand_chunks
from ..errors import UserError
from ..run import VALID_VECTOR_BITS
from ..spec import OPS, Activation, BlockSpec, ConvSpec, Epilogue, Expand, OpInfo, Pointwise
from ..spec import conv as _conv
from ..spec import ops as _ops
from ..spec.block import FLOAT_DTYPES
from ..target import get_target

MAX_BATCH = 2
MAX_CHANNELS = 70
MAX_KERNEL = 5
MAX_STRIDE = 3
MAX_DILATION = 3
MAX_MULTIPLIER = 3
MAX_OUT_EXTENT = 24  # per spatial dim; > 2 output-width tiles of 8 plus a remainder
DEFAULT_MAX_ELEMENTS = 8192  # output elements: keeps one qemu run well under a second
# A first kernel size drawn past MAX_KERNEL (LAYER_SIZES more values: 2 in 7 specs) stands
# for a depthwise layer's window: 3 taps per dim, dilation 1, stride 1 or 2 in every dim,
# half of them without padding. Those are the shapes the register-blocked kernels sweep
# (``blocked.sweeps``) and pack (``packs_pixels``). Drawn from the ranges alone, a 2-D spec
# had them once in 1,012 (3x3, stride 1 or 2, dilation 1), and unpadded once in 82,000.
LAYER_SIZES = 2

# Channel counts around the lane counts of 32-bit elements at 128..2048 bits (4..64) and
# around the multiples of 16: full vectors, one-lane tails and one-lane-short tails.
SPECIAL_CHANNELS: tuple[int, ...] = tuple(
    sorted(
        {1, 2, 3}
        | {c for m in (4, 8, 12, 16, 24, 32, 48, 64) for c in (m - 1, m, m + 1) if c <= MAX_CHANNELS}
    )
)

# Channel counts of a wide spec (1 in 8 where blocks are drawn: --blocks only or mixed), a
# 2-D layer on a small image (4-8 outputs a side, whatever the output budget): several chunks
# of channels, the whole-image tiles' multi-chunk paths (expand blocks, plain blocks with a
# pointwise conv) and chunk tails (200 and 320 are not whole vectors at 2048 bits).
WIDE_CHANNELS: tuple[int, ...] = (128, 192, 200, 256, 320)
WIDE_ONE_IN = 8
WIDE_OUT_EXTENT = 8  # per spatial dim of a wide spec, whatever the output budget

# A ring spec (1 in 8 of the rest where blocks are drawn): a plain channels-last 2-D f32
# layer (where the op and the element type allow), 3x3 of stride 1 or 2, batch 1, 32-70
# channels (or RING_WIDE_CHANNELS) in 2-16 rows (odd heights too) of 8-20 columns, whatever
# the output budget: an image that does not fit the scratch whole
# (``rewrite.expand._whole_image``), so its expand blocks go through a ring, mapped where
# ``rewrite.expand.plan`` allows (``mapped_rows``: two output rows a sweep). Drawn from the
# ranges alone, 0 in 1,000 blocks did.
RING_ONE_IN = 8
RING_ROWS = (2, 16)
RING_COLUMNS = (8, 20)
RING_CHANNELS = (32, 33, 47, 48, 49, 63, 64, 65, MAX_CHANNELS)  # batch 1: wider images
# 1 in 3 ring specs: channels in several chunks (``rewrite.expand.ring_chunk``: 144 in 96 + 48
# where 20 columns leave room for 96), a tail chunk at every vector length (200).
RING_WIDE_CHANNELS = (144, 200)

Draw = Callable[[st.SearchStrategy[Any]], Any]


def _rejection(op: str, dtype: str) -> str | None:
    """Why ConvSpec refuses this op/dtype pair at all (e.g. a quantized op taking only ints)."""
    info = OPS.get(op)
    in_rank, flt_rank = (len(info.input_layout), len(info.filter_layout)) if info else (1, 1)
    try:
        ConvSpec(op, (1,) * in_rank, (1,) * flt_rank, dtype=dtype)
    except UserError as exc:
        return str(exc)
    return None


def op_dtype_pairs(
    ops: Sequence[str] | None = None, dtypes: Sequence[str] | None = None
) -> list[tuple[str, str]]:
    """The (op, dtype) pairs ConvSpec accepts, default everything supported, read now.

    Not every pair is valid (quantized ops take only i8, the others never do). An op or
    dtype the caller asked for by name that fits none of the others raises UserError with
    ConvSpec's own message, so a bad ``--op``/``--dtype`` fails before anything runs.
    """
    op_list = tuple(ops) if ops is not None else _ops.SUPPORTED_OPS
    dtype_list = tuple(dtypes) if dtypes is not None else _conv.SUPPORTED_DTYPES
    if not op_list or not dtype_list:
        raise UserError("nothing to fuzz: give at least one op and one element type")
    pairs = [(o, d) for o in op_list for d in dtype_list if _rejection(o, d) is None]
    asked = [(o, 0) for o in op_list if ops is not None] + [(d, 1) for d in dtype_list if dtypes is not None]
    for name, i in asked or [(op_list[0], 0)]:
        if all(p[i] != name for p in pairs):
            o, d = (name, dtype_list[0]) if i == 0 else (op_list[0], name)
            raise UserError(str(_rejection(o, d)))
    return pairs


def channel_counts() -> st.SearchStrategy[int]:
    """1..70 channels, half the time one of the lane-boundary values above."""
    return st.one_of(st.sampled_from(SPECIAL_CHANNELS), st.integers(1, MAX_CHANNELS))


def vector_lengths(choices: Sequence[int] | None = None) -> st.SearchStrategy[int]:
    """One SVE vector length in bits; shrinks towards the shortest."""
    return st.sampled_from(sorted(choices) if choices else VALID_VECTOR_BITS)


# Targets to draw: names from the target table, plus ``aarch64-sve-vls``, which stands for
# the vector-length-specific build at whatever vector length was drawn. VLA SVE comes first,
# so failures shrink towards the default target.
VLS_FAMILY = "aarch64-sve-vls"
TARGET_CHOICES: tuple[str, ...] = ("aarch64-sve", VLS_FAMILY, "aarch64-sve2", "aarch64-neon", "host")


def runs_bf16(name: str) -> bool:
    """Whether a target choice builds bf16 kernels (the SVE ones)."""
    return name == VLS_FAMILY or get_target(name).scalable


def check_target_choices(names: Sequence[str]) -> tuple[str, ...]:
    """Validate ``--target`` entries for fuzzing (target names or ``aarch64-sve-vls``)."""
    out = tuple(dict.fromkeys(names))
    if not out:
        raise UserError("nothing to fuzz: give at least one target")
    for name in out:
        if name != VLS_FAMILY:
            get_target(name)  # UserError naming the known targets
    return out


@st.composite
def targets_and_vector_lengths(
    draw: Draw, targets: Sequence[str] | None = None, vector_bits: Sequence[int] | None = None
) -> tuple[str, int | None]:
    """A target name and the SVE vector length to run at (``None`` on fixed-width targets)."""
    name = draw(st.sampled_from(tuple(targets) if targets else TARGET_CHOICES))
    if name == VLS_FAMILY:
        bits = draw(vector_lengths(vector_bits))
        return f"{VLS_FAMILY}{bits}", bits
    target = get_target(name)
    if not target.scalable:
        return name, None
    if target.fixed_vl_bits:
        return name, target.fixed_vl_bits
    return name, draw(vector_lengths(vector_bits))


def _draw_padding(
    draw: Draw, spans: tuple[int, ...], padded: tuple[int, ...], enabled: bool
) -> tuple[dict[str, Any], tuple[int, ...]]:
    """Extra ConvSpec kwargs for padding, and the total padding per spatial dim.

    ``padded`` is the padded input extent the drawn output needs; the input keeps
    ``padded - lo - hi >= 1`` elements. Each side pads less than the dilated kernel span, so
    every padded element is read by some window. Everything about padding lives here.
    """
    if not enabled:
        return {}, (0,) * len(spans)
    pads: list[tuple[int, int]] = []
    for span, p in zip(spans, padded, strict=True):
        lo = draw(st.integers(0, min(span - 1, p - 1)))
        pads.append((lo, draw(st.integers(0, min(span - 1, p - 1 - lo)))))
    return {"padding": tuple(pads)}, tuple(lo + hi for lo, hi in pads)


def _draw_zero_points(draw: Draw, info: OpInfo, enabled: bool) -> dict[str, Any]:
    """Zero points (i8 range) for quantized ops, as extra ConvSpec kwargs; half the time
    both are zero (the common unquantized-offset case). Everything about zero points lives here."""
    if not (enabled and info.quantized):
        return {}
    zp = st.one_of(st.just(0), st.integers(-128, 127))
    return {"input_zp": draw(zp), "filter_zp": draw(zp)}


@st.composite
def conv_specs(
    draw: Draw,
    ops: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    padding: bool = True,
    zero_points: bool = True,
    wide: bool = False,
) -> ConvSpec:
    """A valid ConvSpec for one of ``ops`` x ``dtypes`` (default: everything supported).

    The output has at most ``max(max_elements, batch * channels * multiplier)`` elements:
    the spatial extents share what the non-spatial dims leave of the budget. With ``wide``,
    1 spec in ``WIDE_ONE_IN`` is a 2-D layer's window (where a 2-D op is allowed) with one
    of ``WIDE_CHANNELS`` channels and spatial extents from half ``WIDE_OUT_EXTENT`` up to it,
    and 1 in ``RING_ONE_IN`` of the others a ring spec (``RING_ONE_IN``); both take their
    extents whatever the budget.
    """
    pairs = op_dtype_pairs(ops, dtypes)
    widened = wide and draw(st.integers(1, WIDE_ONE_IN)) == WIDE_ONE_IN
    ringed = wide and not widened and draw(st.integers(1, RING_ONE_IN)) == RING_ONE_IN
    names = list(dict.fromkeys(o for o, _ in pairs))
    if widened:  # a 2-D layer where one is allowed
        names = [o for o in names if OPS[o].rank == 2] or names
    if ringed:  # a plain channels-last 2-D f32 layer where one is allowed
        names = [o for o in names if OPS[o].rank == 2 and OPS[o].plain_channels_last] or names
    # Op first, then one of its element types: each op is equally likely, however many types.
    op = draw(st.sampled_from(names))
    dtypes_of = [d for o, d in pairs if o == op]
    dtype = "f32" if ringed and "f32" in dtypes_of else draw(st.sampled_from(dtypes_of))
    info = OPS[op]
    rank = info.rank
    sizes: dict[str, int] = {
        "n": draw(st.integers(1, MAX_BATCH)),
        "c": draw(channel_counts()),
        "m": draw(st.integers(1, MAX_MULTIPLIER)) if info.multiplier else 1,
    }
    # A layer's window (LAYER_SIZES): a failure shrinks away from it as from any large size,
    # and the other draws are those of a plain window.
    if widened:
        sizes["c"] = draw(st.sampled_from(WIDE_CHANNELS))
    if ringed:  # an image that does not fit the scratch whole (``expand._whole_image``)
        sizes["n"] = 1
        lo, hi = RING_CHANNELS[0], RING_CHANNELS[-1]
        sizes["c"] = draw(
            st.one_of(
                st.sampled_from(RING_CHANNELS), st.integers(lo, hi), st.sampled_from(RING_WIDE_CHANNELS)
            )
        )
    kernel = tuple(draw(st.integers(1, MAX_KERNEL + (LAYER_SIZES if i == 0 else 0))) for i in range(rank))
    strides = tuple(draw(st.integers(1, MAX_STRIDE)) for _ in range(rank))
    dilations = tuple(draw(st.integers(1, MAX_DILATION)) for _ in range(rank))
    layer = kernel[0] > MAX_KERNEL or widened or ringed
    if layer:
        stride = draw(st.integers(1, 2)) if ringed else min(strides[0], 2)
        kernel, strides, dilations = (3,) * rank, (stride,) * rank, (1,) * rank
    budget = max(1, max_elements // (sizes["n"] * sizes["c"] * sizes["m"]))
    out: list[int] = []
    for i in range(rank):
        if widened:  # small, squarish images: where the whole-image tiles apply
            o = draw(st.integers(WIDE_OUT_EXTENT // 2, WIDE_OUT_EXTENT))
        elif ringed and rank == 2:  # whatever the output budget, as a wide spec's
            o = draw(st.integers(*(RING_ROWS if i == 0 else RING_COLUMNS)))
        else:
            o = draw(st.integers(1, max(1, min(MAX_OUT_EXTENT, budget))))
        budget = max(1, budget // o)
        out.append(o)
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilations, strict=True))
    # The last window starts at (o - 1) * s; up to s - 1 trailing inputs do not change o.
    padded = tuple(
        (o - 1) * s + span + draw(st.integers(0, s - 1))
        for o, s, span in zip(out, strides, spans, strict=True)
    )
    # Half the layers are unpadded ("valid"), as the bench's are (the padding there is the input's).
    extra, pad = _draw_padding(draw, spans, padded, padding and not (layer and draw(st.booleans())))
    extra.update(_draw_zero_points(draw, info, zero_points))
    out_dtypes = _conv.OUT_DTYPES.get(dtype)
    if out_dtypes:  # bf16: f32 or bf16 output (the default first, so it shrinks there)
        extra["out_dtype"] = draw(st.sampled_from(out_dtypes))
    in_extent = tuple(p - t for p, t in zip(padded, pad, strict=True))
    in_sizes = {**sizes, **dict(zip(info.spatial, in_extent, strict=True))}
    flt_sizes = {**sizes, **dict(zip(info.spatial, kernel, strict=True))}
    return ConvSpec(
        op=op,
        input_shape=tuple(in_sizes[ch] for ch in info.input_layout),
        filter_shape=tuple(flt_sizes[ch] for ch in info.filter_layout),
        strides=strides,
        dilations=dilations,
        dtype=dtype,
        **extra,
    )


@st.composite
def int8_epilogues(draw: Draw, bias: bool) -> Epilogue:
    """A requantizing epilogue with an int8 activation: relu, relu6 placed by an output
    scale, or an int8 clamp."""
    kind = draw(st.sampled_from(("none", "relu", "relu6", "clamp")))
    lo = draw(st.integers(-128, 127))
    act = Activation(kind, lo, draw(st.integers(lo, 127))) if kind == "clamp" else Activation(kind)
    scale = draw(st.sampled_from((0.02, 0.05, 0.1, 0.5))) if kind == "relu6" else None
    zp = draw(st.one_of(st.just(0), st.integers(-128, 127)))
    return Epilogue(bias=bias, activation=act, requantize=True, output_zp=zp, output_scale=scale)


@st.composite
def epilogues(draw: Draw, conv: ConvSpec) -> Epilogue:
    """An epilogue valid for ``conv``; half the time none. Quantized ops requantize (with an
    int8 activation: relu, relu6 placed by an output scale, or an int8 clamp) or only add a
    bias; float ops draw any activation; i32 ops only a bias."""
    if not draw(st.booleans()):
        return Epilogue()
    bias = draw(st.booleans())
    if conv.info.quantized:
        if not draw(st.booleans()):
            return Epilogue(bias=True)
        return draw(int8_epilogues(bias))
    if conv.dtype not in FLOAT_DTYPES:
        return Epilogue(bias=True)
    kind = draw(st.sampled_from(("none", "relu", "relu6", "clamp", "silu", "hardswish")))
    if kind == "clamp":
        lo = draw(st.sampled_from((-1.0, -0.5, 0.0, 0.25)))
        return Epilogue(
            bias=bias, activation=Activation(kind, lo, lo + draw(st.sampled_from((0.0, 0.5, 1.5))))
        )
    return Epilogue(bias=bias, activation=Activation(kind))


def _builds(block: BlockSpec) -> BlockSpec:
    """``block``, or UserError where the build refuses it (a bf16 output after expand and
    pointwise with more channels than one chunk of the scratch holds)."""
    check_expand_chunks(block, get_target("aarch64-sve"))
    return block


def _padding_beyond_reach(conv: ConvSpec) -> ConvSpec:
    """``conv`` with its first spatial dim padded at the start by its whole dilated span more,
    so the first outputs read only padding (``_draw_padding`` never pads that wide); ``conv``
    itself if that would pass ``DEFAULT_MAX_ELEMENTS``."""
    span = conv.dilations[0] * (conv.kernel[0] - 1) + 1
    (lo, hi), *rest = conv.padding
    wide = dataclasses.replace(conv, padding=((lo + span, hi), *rest))
    return wide if math.prod(wide.output_shape) <= DEFAULT_MAX_ELEMENTS else conv


@st.composite
def block_parts(draw: Draw, conv: ConvSpec, force: bool = False) -> BlockSpec:
    """``conv`` with an epilogue fused into it and, where the op has one (float ops; int8 ops
    that requantize), sometimes a fused pointwise conv; without one, for channels-last float
    ops whose output has the input's shape, sometimes the residual add. Every choice shrinks
    towards the bare conv; with ``force`` towards a bias alone (every case a block)."""
    epi = draw(epilogues(conv))
    if force and epi.empty:
        epi = Epilogue(bias=True)
    # Drawn for every op: the same choices shrink alike. A wide conv (WIDE_CHANNELS) takes
    # a pointwise conv 2 times in 3 and an expand 1 in 2 (else 1 in 3 and 1 in 4): its
    # chunks of channels are what it is drawn for. A 2-D 3x3 of stride 1 or 2 (ring specs
    # among them) takes both as often: its ring is, and the pointwise GEMM decides how a
    # stride-2 ring is mapped (one output row a step, all the rows through one GEMM:
    # MobileNetV2 block 14's plan). With a pointwise conv 1 in 3, 4 to 9 distinct blocks of
    # 3,000 took a ring mapped one row a step (seeds 2026120601-3); 2 in 3, 7 to 17.
    wide = conv.channels > MAX_CHANNELS
    ring = (
        conv.info.rank == 2
        and conv.kernel == (3, 3)
        and conv.strides in ((1, 1), (2, 2))
        and conv.dilations == (1, 1)
    )
    pointwise = draw(st.integers(0, 2)) >= (1 if wide or ring else 2)
    expand = draw(st.booleans()) if wide or ring else draw(st.integers(0, 3)) == 3
    q = conv.info.quantized
    float_ok = conv.dtype in FLOAT_DTYPES
    ex = None
    if expand and float_ok and conv.info.channels_last:
        ex_epi = draw(epilogues(conv)) if draw(st.booleans()) else Epilogue()
        # Wide ring specs of stride 2 take 65-96 input channels 1 in 2: expand weights that do
        # not fit in L1 beside 48 KiB, so the plan groups all the output rows for the pointwise
        # GEMM with chunks of channels (``rewrite.expand._plan``, MobileNetV2 block 14's).
        wide_ring = ring and conv.strides == (2, 2) and conv.channels in RING_WIDE_CHANNELS
        cins = st.one_of(st.integers(1, 24), st.integers(65, 96)) if wide_ring else st.integers(1, 24)
        ex = Expand(draw(cins), ex_epi)
    in_channels = ex.cin if ex is not None else conv.channels
    if pointwise and (float_ok or (q and epi.requantize)):
        if ex is not None and draw(st.integers(0, 3)) == 0:
            conv = _padding_beyond_reach(conv)
        cout = draw(st.one_of(st.just(in_channels), channel_counts()))
        if q:
            pw_epi = draw(int8_epilogues(draw(st.booleans())))
        else:
            pw_epi = draw(epilogues(conv)) if draw(st.booleans()) else Epilogue()
        try:
            return _builds(BlockSpec(conv, epi, Pointwise(cout, pw_epi), ex, residual=draw(st.booleans())))
        except UserError:  # a residual needs matching shapes; a bf16 output, one chunk
            try:
                return _builds(BlockSpec(conv, epi, Pointwise(cout, pw_epi), ex))
            except UserError:
                pass
    residual = draw(st.booleans())  # drawn for every op, as the others
    if residual and float_ok and conv.info.channels_last and not conv.is_dynamic:
        # The input added to the depthwise result: the conv made stride 1 with 'same'
        # padding, and an expand stage from C*M channels (without one, M must be 1).
        same = dataclasses.replace(conv, strides=(1,) * len(conv.kernel), padding="same")
        if ex is not None:
            ex = Expand(same.channels * same.multiplier, ex.epilogue)
        if math.prod(same.output_shape) <= DEFAULT_MAX_ELEMENTS and (ex is not None or same.multiplier == 1):
            try:
                return BlockSpec(same, epi, None, ex, residual=True)
            except UserError:
                pass
    return BlockSpec(conv, epi, None, ex)


@st.composite
def block_specs(
    draw: Draw,
    ops: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    blocks: str = "mixed",
) -> BlockSpec:
    """A conv from ``conv_specs`` and the parts of ``block_parts``: sometimes (``mixed``),
    always (``only``) or never (``none``); with parts, sometimes wide (``WIDE_CHANNELS``)."""
    conv = draw(conv_specs(ops, dtypes, max_elements, wide=blocks != "none"))
    return draw(block_parts(conv, blocks == "only")) if blocks != "none" else BlockSpec(conv)


def fuzz_settings(count: int, phases: tuple[Phase, ...]) -> settings:
    """Hypothesis settings for ``count`` examples with an explicit seed: no database, no
    deadline, no health checks, quiet (we report failures ourselves)."""
    return settings(
        max_examples=count,
        database=None,
        derandomize=False,  # the explicit seed decides, not the test's source hash
        deadline=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        print_blob=False,
    )


def examples(strategy: st.SearchStrategy, n: int = 200, seed: int = 0) -> list:
    """``n`` examples of ``strategy`` in draw order, the same ones for the same seed: what
    ``dwmlir fuzz`` runs, and what tests check the draws with (no shrinking)."""
    out: list = []

    @hypothesis_seed(seed)
    @fuzz_settings(n, (Phase.generate,))
    @given(strategy)
    def collect(x: Any) -> None:
        out.append(x)

    collect()
    return out
