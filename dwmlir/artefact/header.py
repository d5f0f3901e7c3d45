"""The C header of a kernel: a plain C ABI with bare pointers in the op's layouts."""

from __future__ import annotations

import math

from ..rewrite import expand as expand_stage
from ..rewrite.blocked import band_units, covers_every_output, part_bands, row_sweep, sweeps
from ..rewrite.nest import ConvGeometry
from ..rewrite.pointwise import ROWS_SCRATCH_BYTES, SCRATCH_BYTES, tile_pixels
from ..rewrite.vector_rows import fused_tiles
from ..spec import DTYPES, BlockSpec, ConvSpec, as_block
from ..target import Target, for_dtype


def _x(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _shape_text(a, spec: ConvSpec) -> str:
    """A buffer's shape; a run-time size by its argument's name (``w``), or an output size by
    its formula's name (``ow``)."""
    if not a.dynamic:
        return _x(a.shape)
    out = a.name == "output"
    parts = []
    for ch, v in zip(a.layout, a.shape, strict=True):
        if ch in a.dynamic:
            parts.append(f"o{ch}" if out and ch in spec.info.spatial else ch)
        else:
            parts.append(str(v))
    return "".join(f"[{p}]" for p in parts)


def _dynamic_lines(spec: ConvSpec) -> list[str]:
    """The run-time sizes: which arguments, the output size formulas, and what bad sizes do."""
    if not spec.is_dynamic:
        return []
    names = ", ".join(spec.dynamic)
    lines = [
        f" * Run-time sizes: {names} (int64_t, after the pointers, in the input's dim order).",
    ]
    lines.append(" * Output sizes: (size + pad_lo + pad_hi - dilation * (kernel - 1) - 1) / stride + 1:")
    for dim, expr in spec.output_formulas():
        lines.append(f" *   {dim} = {expr}")
    lines += [
        " * If a size is < 1, an output size would be < 1, or a buffer would have more than",
        " * 2^31-1 elements, the kernel returns at once: it reads and writes no buffer.",
    ]
    return lines


def _c(values: tuple[int, ...]) -> str:
    return ",".join(map(str, values))


def _types(spec: ConvSpec) -> str:
    if spec.dtype == "bf16":
        out = "bf16 (uint16_t bits)" if spec.out_dtype == "bf16" else "f32 (float)"
        return (
            "bf16 (uint16_t: the bits of a bfloat16, the top half of the float32 with the same\n"
            f" * sign and exponent) input and filter, f32 accumulators, {out} output"
            + (", rounded to nearest-even" if spec.out_dtype == "bf16" else "")
        )
    if spec.info.quantized:
        return (
            f"{spec.dtype} ({spec.c_type}) input and filter, {spec.out_dtype} ({spec.out_c_type}) output;\n"
            " * output = sum over taps of (input - input_zp) * (filter - filter_zp)"
        )
    return f"{spec.dtype} ({spec.c_type})"


def _padding(spec: ConvSpec) -> str:
    if not spec.has_padding:
        return "no padding"
    pairs = ",".join(f"{lo}:{hi}" for lo, hi in spec.padding)
    value = "input_zp" if spec.info.quantized else "zeros"
    return f"padding {pairs} ({value}, not stored in the input buffer)"


def c_prototype(spec: ConvSpec | BlockSpec, part: bool = False) -> str:
    """``void NAME(const T *input, ..., O *output)``: the arguments of ``BlockSpec.args``
    (``part``: ``NAME_part``, with ``int32_t part, int32_t parts`` after them)."""
    block = as_block(spec)
    params = []
    for a in block.args:
        if not a.is_buffer:
            params.append(f"{a.c_type} {a.name}")
        elif a.name == "output":
            params.append(f"{a.c_type} *{a.name}")
        else:
            params.append(f"const {a.c_type} *{a.name}")
    if part:
        return f"void {block.name}_part({', '.join([*params, 'int32_t part', 'int32_t parts'])})"
    return f"void {block.name}({', '.join(params)})"


def row_plan_args(conv: ConvSpec, target: Target) -> tuple[ConvGeometry, int, int, bool] | None:
    """The arguments of ``blocked``'s per-shape rules (``band_rows``, ``part_bands``,
    ``blocking``, ``whole_is_part``) for ``conv`` on ``target``: geometry, channels, element
    bytes and whether the rows are swept; None where no static row plan applies (not a plain
    channels-last conv, or run-time sizes)."""
    if not conv.info.plain_channels_last or conv.is_dynamic:
        return None
    geo = ConvGeometry.of_spec(conv)
    return geo, conv.channels, DTYPES[conv.dtype][2] // 8, row_sweep(geo, conv.dtype, target.scalable)


def banded(conv: ConvSpec, target: Target) -> tuple[int, int] | None:
    """(rows per band, bands in all) when NAME_part for ``target`` shares out bands of rows
    (``blocked.part_bands``), else None."""
    args = row_plan_args(conv, target)
    rows = None if args is None else part_bands(*args)
    return None if rows is None else (rows, conv.input_shape[0] * band_units(args[0], rows))


def _part_lines(block: BlockSpec, target: Target) -> list[str]:
    """The doc comment and prototype of ``NAME_part``."""
    name, conv = block.name, block.conv
    if block.pointwise is not None:
        share = [
            " * Each share is a run of whole pixel tiles of the output (every output channel of",
            " * them; a tile is part of one output row, or whole rows): at most one share per",
            " * tile gets work.",
        ]
    elif (bands := banded(conv, target)) is not None:
        rows, units = bands
        share = [
            f" * Each share is a run of bands of {rows} output rows of the first outer dim (every",
            f" * channel; a border run of rows is one band): at most {units} shares get work.",
        ]
    elif not conv.info.channels_last:
        share = [" * Each share is a run of whole output channels: at most C shares get work."]
    else:
        most = "ceil(C*M / lanes)" if conv.multiplier > 1 else "ceil(C / lanes)"
        share = [
            " * Each share is a run of whole vectors of output channels (the last share also takes",
            f" * the partial vector): at most {most} shares get work.",
        ]
    return [
        "/*",
        f" * {name}_part: one share of {name}'s work, for threads: {name}'s arguments, then",
        " * part and parts. The calls for part = 0 .. parts-1 (concurrent, in any order, on the",
        f" * same buffers) together write exactly what one call of {name} writes, bit for bit, and",
        " * no output element is written by two of them.",
        *share,
        " * The others, and any call with parts < 1 or part outside [0, parts), return at once.",
        " * Libc only. From pthreads:",
        f" *   static void *work(void *p) {{ job *j = p; {name}_part(..., j->part, j->parts); return 0; }}",
        " *   for (int t = 0; t < T; ++t) pthread_create(&th[t], 0, work, &jobs[t]);  then join all",
        " * or from OpenMP:",
        " *   #pragma omp parallel",
        f" *   {name}_part(..., omp_get_thread_num(), omp_get_num_threads());",
        " */",
        f"{c_prototype(block, part=True)};",
    ]


def _epilogue_lines(block: BlockSpec) -> list[str]:
    """What the epilogue does to each accumulator, as the header states it."""
    epi = block.epilogue
    if block.adds_input_to_depthwise:  # float only: no requantization
        x = _act_expr(epi.activation, "acc + bias[ch]" if epi.bias else "acc")
        return [
            " * Fused epilogue, per output element of output channel ch (c*M+m with a multiplier):",
            f" *   output = {x} + input (same pixel, input channel ch)",
        ]
    if epi.empty:
        return []
    acc = "acc + bias[ch]" if epi.bias else "acc"
    lines = [" * Fused epilogue, per output element of output channel ch (c*M+m with a multiplier):"]
    if epi.requantize:
        lo, hi = epi.int8_bounds()
        zp = epi.output_zp
        zp_term = f"+ {zp}" if zp >= 0 else f"- {-zp}"
        lines.append(
            f" *   output = clamp(roundeven((float)({acc}) * requant_scale[ch]) {zp_term}, {lo}, {hi})"
        )
        lines.append(" *   (int8; round to nearest, ties to even; the sum wraps in int32)")
    else:
        lines.append(f" *   {'dw' if block.pointwise else 'output'} = {_act_expr(epi.activation, acc)}")
    return lines


def _act_expr(act, x: str) -> str:
    """``act`` of the expression ``x``, in parentheses where it is an operand (``p``)."""
    return {
        "none": "{x}",
        "relu": "max({x}, 0)",
        "relu6": "min(max({x}, 0), 6)",
        "clamp": f"min(max({{x}}, {act.lo:g}), {act.hi:g})",
        "silu": "{p} / (1 + exp(-{p}))",
        "hardswish": "{p} * min(max({x} + 3, 0), 6) / 6",
    }[act.kind].format(x=x, p=f"({x})" if " " in x else x)


def expand_plan(block: BlockSpec, target: Target, compact: bool = False) -> expand_stage.ExpandPlan:
    """The expand stage's tiling, as the rewrite chooses it for ``target`` (for the header
    and NAME.json); ``compact``: the kernel was rebuilt for code size (``compact_expand``)."""
    conv = block.conv
    geo = ConvGeometry.of_spec(conv)
    elt_bytes = DTYPES[conv.acc_dtype][2] // 8  # as the rewrite's: a bf16 block's window is sized in f32
    pw = block.pointwise is not None
    # As the rewrite's: f32 rows of a plain channels-last op on SVE sweep (``BlockedRows``).
    swept = target.scalable and conv.dtype == "f32" and conv.info.plain_channels_last and sweeps(geo)
    return expand_stage.plan(
        geo,
        conv.channels,
        conv.multiplier,
        elt_bytes,
        pw,
        block.expand.cin,
        swept,
        _one_chunk(block),
        compact,
    )


def _one_chunk(block: BlockSpec) -> bool:
    """Whether the expand plan must take every channel in one chunk: a rounded (bf16) output
    after the pointwise conv cannot hold its partial sums between chunks."""
    return block.pointwise is not None and block.out_dtype != block.dw_dtype


def check_expand_chunks(block: BlockSpec, target: Target) -> None:
    """Refuse, before any IR is built, a block whose expand plan must take one chunk
    (``_one_chunk``) where its channels do not fit one."""
    if block.expand is not None and _one_chunk(block):
        plan = expand_plan(block, target)
        expand_stage.check_one_chunk(plan, block.conv.channels, block.out_dtype, block.dw_dtype)


def _bound(size: int, bound: int, smallest: str) -> str:
    """The scratch's bound, and whether this block's scratch is over it: a tile of ``smallest``
    needs more (huge channel counts or dilated windows); the kernel still runs, its scratch
    then does not fit in L1 with room to spare."""
    if size <= bound:
        return f"(the bound is {bound} bytes)"
    return f"(over its bound of {bound} bytes, sized for a 64 KiB L1D: {smallest} takes more)"


def _wrapped(lines: list[str], over: bool, width: int = 96) -> list[str]:
    """Comment lines (`` * ...``) longer than ``width`` broken at spaces, if ``over`` (the
    scratch is over its bound: a longer note; other headers keep their lines)."""
    if not over:
        return lines
    out = []
    for line in lines:
        while len(line) > width and line.startswith(" * "):
            cut = line.rfind(" ", 3, width + 1)
            if cut <= 3:
                break
            out.append(line[:cut])
            line = " * " + line[cut + 1 :]
        out.append(line)
    return out


def _expand_lines(block: BlockSpec, target: Target, compact: bool) -> list[str]:
    ex = block.expand
    if ex is None:
        return []
    acc = "sum over ci of input[pixel][ci] * expand_filter[ci][c]" + (
        " + expand_bias[c]" if ex.epilogue.bias else ""
    )
    plan = expand_plan(block, target, compact)
    head = [
        f" * Fused expand 1x1 conv first (CIN = {ex.cin} input channels to C = {block.conv.channels}), per",
        " * input pixel and channel c; the depthwise conv then reads e (zeros where it pads):",
        f" *   e = {_act_expr(ex.epilogue.activation, acc)}",
    ]
    if compact:  # ``limits.rewrite_within_limit``
        head.append(" * Planned for code size: the fastest plan was over the code-size limit.")
    if plan.whole:  # within its bound (``expand._whole_image``)
        return [
            *head,
            f" * e never exists whole in memory: {plan.chunk} of its channels at a time (all pixels) live",
            f" * in a scratch on the kernel's stack, of {plan.scratch_bytes} bytes with the pointwise tile",
            f" * (the bound is {plan.bound} bytes).",
        ]
    return _wrapped(
        [
            *head,
            " * e never exists whole in memory: rows of it live in a scratch on the kernel's stack, of",
            f" * {plan.scratch_bytes} bytes with the pointwise tile"
            + (" and a copy of the filter's rows" if plan.filter_copy else "")
            + f" {_bound(plan.scratch_bytes, plan.bound, 'the smallest tile of one channel')}.",
        ],
        plan.scratch_bytes > plan.bound,
    )


def _pointwise_lines(block: BlockSpec, target: Target) -> list[str]:
    pw = block.pointwise
    if pw is None:
        return []
    epi = pw.epilogue
    c, elt_bytes = block.out_channels, DTYPES[block.dw_dtype][2] // 8
    size = tile_pixels(c, elt_bytes) * c * elt_bytes  # channels-first: channels x pixels
    conv = block.conv
    if conv.info.channels_last:
        geo = ConvGeometry.of_spec(conv) if not conv.is_dynamic else None
        plain = conv.info.plain_channels_last and geo is not None and covers_every_output(geo)
        f32, same = block.dw_dtype == "f32", block.out_dtype == block.dw_dtype
        tiles = fused_tiles(geo, c, elt_bytes, target.scalable, f32, pw.cout, plain, same)
        size = tiles.scratch_bytes(geo, c, elt_bytes)
    # Tiles of several rows (vector_rows.multi_row_tiles) or of the whole image may take more.
    bound = ROWS_SCRATCH_BYTES if size > SCRATCH_BYTES else SCRATCH_BYTES
    lines = [
        f" * Fused pointwise 1x1 conv, per output pixel and output channel co (COUT = {pw.cout}), on dw,"
    ]
    if block.expand is not None:
        lines += [
            " * the depthwise result, which never exists whole in memory (tiles of it share the expand",
            " * stage's scratch).",
        ]
    else:
        pixel = f"one pixel of its {c} channels"
        lines += _wrapped(
            [
                " * the depthwise result, which never exists whole in memory: tiles of it live in a",
                f" * {size}-byte scratch on the kernel's stack {_bound(size, bound, pixel)}.",
            ],
            size > bound,
        )
    if epi.requantize:
        zp_in = block.epilogue.output_zp
        x = f"(dw[pixel][ch] - {zp_in})" if zp_in else "dw[pixel][ch]"
        acc = f"sum over ch of {x} * pw_filter[ch][co]" + (" + pw_bias[co]" if epi.bias else "")
        lo, hi = epi.int8_bounds()
        zp = epi.output_zp
        zp_term = f"+ {zp}" if zp >= 0 else f"- {-zp}"
        lines += [
            f" *   acc = {acc}  (int32)",
            f" *   output = clamp(roundeven((float)acc * pw_requant_scale[co]) {zp_term}, {lo}, {hi})",
        ]
        return lines
    if block.conv.info.channels_last:
        prod = "dw[pixel][ch] * pw_filter[ch][co]"
    else:
        prod = "pw_filter[co][ch] * dw[ch][pixel]"
    y = f"sum over ch of {prod}" + (" + pw_bias[co]" if epi.bias else "")
    lines.append(
        f" *   output = {_act_expr(epi.activation, y)}"
        + (" + input (same pixel and channel)" if block.residual else "")
    )
    return lines


def kernel_block(
    spec: ConvSpec | BlockSpec,
    target: Target,
    cpu: str | None = None,
    part: bool | None = None,
    compact: bool = False,
) -> list[str]:
    """The doc comment and prototype of one kernel, and of its ``NAME_part`` if it has one
    (``part``; default ``BlockSpec.has_part``); ``compact``: its expand stage was rebuilt for
    code size (``Artefacts.compact_expand``)."""
    block = as_block(spec)
    part = block.has_part if part is None else part
    spec = block.conv
    target = for_dtype(target, spec.dtype)
    tuned = f", tuned for {cpu}" if cpu else ""
    types = _types(spec)
    if block.out_dtype != spec.out_dtype:
        types = types.replace(" output;", f" accumulators, {block.out_dtype} ({block.out_c_type}) output;")
    shapes = [
        f" *   {a.name:<13} {_shape_text(a, spec):>16}  ({a.layout if a.layout != 'c' else a.doc}) {a.c_type}"
        for a in block.buffers
    ]
    return [
        "/*",
        f" * {spec.name}: linalg.{spec.op}, element type {types}.",
        " * All buffers are dense, row-major, in the op's own layouts:",
        *shapes,
        f" * strides {_c(spec.strides)}, dilations {_c(spec.dilations)}, {_padding(spec)}.",
        *_dynamic_lines(spec),
        *_expand_lines(block, target, compact),
        *_epilogue_lines(block),
        *_pointwise_lines(block, target),
        " * The output is overwritten, not accumulated into. Buffers must not overlap.",
        f" * Target: {target.name} ({target.triple}, {target.mattr}{tuned});",
        f" * {target.vl_assumption}.",
        " */",
        f"{c_prototype(block)};",
        *(_part_lines(block, target) if part else []),
        *_size_enum(block),
        *_supported(block.name, target),
        "",
    ]


def _dims(arg) -> list[tuple[str, int]]:
    """(letter, size) of each dim of a buffer, in its layout (``m`` for the multiplier)."""
    letters = arg.layout if len(arg.layout) == len(arg.shape) and arg.layout.isalpha() else ""
    return list(zip(letters.upper(), arg.shape, strict=True)) if letters else []


def header_symbols(spec: ConvSpec | BlockSpec) -> list[str]:
    """The identifiers a kernel's block of the header declares besides the kernel itself."""
    block = as_block(spec)
    names = [f"{block.name}_supported", f"{block.name}_part"]
    for a in block.buffers:
        stem = f"{block.name}_{a.name.upper()}"
        size = [] if a.dynamic else [f"{stem}_SIZE"]
        names += [*size, *(f"{stem}_{letter}" for letter, _ in _dims(a) if letter.lower() not in a.dynamic)]
    return names


def _size_enum(block: BlockSpec) -> list[str]:
    """Each buffer's element count and dims as constants (C and C++), for allocating buffers."""
    dyn = " (run-time sizes have none)" if block.conv.is_dynamic else ""
    lines = [f"/* Each buffer's size in elements, and its dims in its layout's order{dyn}. */", "enum {"]
    for a in block.buffers:
        stem = f"{block.name}_{a.name.upper()}"
        dims = ", ".join(
            f"{stem}_{letter} = {size}" for letter, size in _dims(a) if letter.lower() not in a.dynamic
        )
        if a.dynamic:
            lines.append(f"  {dims},")
            continue
        lines.append(f"  {stem}_SIZE = {math.prod(a.shape)}" + (f", {dims}," if dims else ","))
    lines.append("};")
    return lines


def _supported(name: str, target: Target) -> list[str]:
    """``NAME_supported()``: whether this CPU can run the kernel (libc only), so a program can
    fall back instead of dying with SIGILL."""
    head = [
        f"/* 1 if this CPU can run {name} ({target.name}), else 0. */",
        f"static inline int {name}_supported(void) {{",
    ]
    if target.arch != "aarch64":
        return [
            *head,
            "#if defined(__x86_64__)",
            '  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");',
            "#else",
            "  return 0;",
            "#endif",
            "}",
        ]
    if not target.scalable:
        return [
            *head,
            "#if defined(__aarch64__)",
            "  return 1; /* Advanced SIMD is part of AArch64 */",
            "#else",
            "  return 0;",
            "#endif",
            "}",
        ]
    body = [
        "#if defined(__aarch64__) && defined(__linux__)",
        "  if (!(getauxval(AT_HWCAP) & (1UL << 22))) return 0; /* HWCAP_SVE */",
    ]
    if "sve2" in target.mattr:
        body.append("  if (!(getauxval(AT_HWCAP2) & (1UL << 1))) return 0; /* HWCAP2_SVE2 */")
    if "+bf16" in target.mattr.split(","):
        body.append("  if (!(getauxval(AT_HWCAP2) & (1UL << 12))) return 0; /* HWCAP2_SVEBF16 */")
    if target.fixed_vl_bits:
        vl = target.fixed_vl_bits // 8
        body.append(
            f"  return (prctl(51 /* PR_SVE_GET_VL */) & 0xffff) == {vl}; /* built for {vl}-byte vectors */"
        )
    else:
        body.append("  return 1;")
    return [*head, *body, "#else", "  return 0;", "#endif", "}"]


def render_header(
    name: str, blocks: list[list[str]], version: str, note: str = "Needs only libc; no MLIR runtime library."
) -> str:
    """A header declaring one or more kernels (``blocks`` from ``kernel_block``)."""
    guard = f"DWMLIR_{name.upper()}_H"
    lines = [
        f"/* {name}.h: generated by dwmlir {version}; do not edit. {note} */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdint.h>",
        "#if defined(__aarch64__) && defined(__linux__)",
        "#include <sys/auxv.h> /* NAME_supported() */",
        "#include <sys/prctl.h>",
        "#endif",
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
    ]
    for block in blocks:
        lines += block
    lines += ["#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {guard} */", ""]
    return "\n".join(lines)
