"""Build the linalg payload for a spec with the MLIR Python bindings.

The kernel takes memrefs in the op's own layouts (which lower to bare pointers),
works on tensors inside (so tiling and decomposition have value semantics), pads the input
with ``tensor.pad`` when the spec asks for padding, zero-fills the output and writes the
result into the output buffer in place.
"""

from __future__ import annotations

import math

from mlir import ir
from mlir.dialects import arith, bufferization, func, linalg, memref, scf, tensor

from ..spec import MAX_ELEMENTS, BlockSpec, ConvSpec, as_block
from ..spec.block import KernelArg
from .epilogue import (
    EPILOGUE_ATTR,
    EXPAND_ATTR,
    EXPAND_EPILOGUE_ATTR,
    POINTWISE_ATTR,
    PW_EPILOGUE_ATTR,
    apply_epilogue,
    epilogue_attr,
)


def element_type(dtype: str) -> ir.Type:
    """MLIR element type for a dwmlir dtype name (call inside a Context)."""
    if dtype == "f32":
        return ir.F32Type.get()
    if dtype == "f16":
        return ir.F16Type.get()
    if dtype == "bf16":
        return ir.BF16Type.get()
    if dtype.startswith("i"):
        return ir.IntegerType.get_signless(int(dtype[1:]))
    raise ValueError(f"no MLIR type for {dtype}")


def zero_constant(elt: ir.Type) -> ir.Value:
    """``arith.constant 0`` of a scalar integer or float type."""
    if isinstance(elt, ir.IntegerType):
        return arith.constant(elt, 0)
    return arith.constant(elt, 0.0)


def pad_input(spec: ConvSpec, value: ir.Value, elt: ir.Type, pad_value: ir.Value | None = None) -> ir.Value:
    """``tensor.pad`` of the input by the spec's padding (a no-op without padding).

    The pad value is zero, or for quantized ops the input zero point, so that a padded tap
    contributes (zx - zx) * (w - zw) = 0.
    """
    if not spec.has_padding:
        return value
    lows = dict(zip(spec.info.spatial, (lo for lo, _ in spec.padding), strict=True))
    highs = dict(zip(spec.info.spatial, (hi for _, hi in spec.padding), strict=True))
    low = [lows.get(ch, 0) for ch in spec.info.input_layout]
    high = [highs.get(ch, 0) for ch in spec.info.input_layout]
    dyn = ir.ShapedType.get_dynamic_size()
    padded = [
        dyn if ch in spec.dynamic else v
        for ch, v in zip(spec.info.input_layout, spec.padded_input_shape, strict=True)
    ]
    result_type = ir.RankedTensorType.get(padded, elt)
    pad = tensor.PadOp(result_type, value, [], [], low, high)
    block = pad.regions[0].blocks.append(*([ir.IndexType.get()] * len(low)))
    with ir.InsertionPoint(block):
        tensor.YieldOp(pad_value if pad_value is not None else zero_constant(elt))
    return pad.result


def _add_widened(y: ir.Value, x: ir.Value) -> ir.Value:
    """``y + x``, a bf16 ``x`` (a block's input) widened to ``y``'s f32 first: the sum is
    rounded once, when it is stored."""
    return arith.addf(y, x if x.type == y.type else arith.extf(y.type, x))


def _channel_map(block: BlockSpec) -> ir.AffineMap:
    """Output position -> index of its per-channel parameter (bias, scale): ``c``, or
    ``c * M + m`` with a channel multiplier."""
    layout = block.conv.info.output_layout
    dims = [ir.AffineDimExpr.get(i) for i in range(len(layout))]
    if "m" in layout:
        expr = dims[layout.index("c")] * block.conv.multiplier + dims[layout.index("m")]
    else:
        expr = dims[layout.index("c")]
    return ir.AffineMap.get(len(layout), 0, [expr])


def _epilogue(
    block: BlockSpec,
    acc: ir.Value,
    bias: ir.Value | None,
    scale: ir.Value | None,
    block_input: ir.Value | None = None,
) -> ir.Value:
    """A ``linalg.generic`` applying the block's epilogue to every accumulator, then adding
    ``block_input`` (the residual of a block without a pointwise conv: the same shape)."""
    shape = list(block.dw_shape)
    rank = len(shape)
    out_elt = element_type(block.dw_dtype)
    params = [v for v in (bias, scale) if v is not None]
    identity = ir.AffineMap.get_identity(rank)
    maps = [identity, *[_channel_map(block)] * len(params), *[identity] * (block_input is not None), identity]
    if block_input is not None:
        x_t = ir.RankedTensorType(block_input.type)
        if x_t.rank < rank:  # N..x(C*M) as N..xCxM: input channel c*M+m is output (c, m)
            groups = [[i] for i in range(rank - 2)] + [[rank - 2, rank - 1]]
            x_shaped = ir.RankedTensorType.get(shape, x_t.element_type)
            block_input = tensor.expand_shape(x_shaped, block_input, groups, [], shape)
        params.append(block_input)
    parallel = ir.Attribute.parse("#linalg.iterator_type<parallel>")
    out_t = ir.RankedTensorType.get(shape, out_elt)
    op = linalg.GenericOp(
        [out_t],
        [acc, *params],
        [tensor.empty(shape, out_elt)],
        ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
        ir.ArrayAttr.get([parallel] * rank),
    )
    op.operation.attributes[EPILOGUE_ATTR] = epilogue_attr(
        block.epilogue, residual=True if block_input is not None else None
    )
    elts = [ir.RankedTensorType(v.type).element_type for v in (acc, *params)]
    body = op.regions[0].blocks.append(*elts, out_elt)
    with ir.InsertionPoint(body):
        args = list(body.arguments)
        b = args[1] if bias is not None else None
        s = args[1 + (bias is not None)] if scale is not None else None
        y = apply_epilogue(args[0], block.epilogue, b, s, exact_exp=True)
        if block_input is not None:
            y = _add_widened(y, args[-2])
        if y.type != out_elt:  # f32 accumulators stored as bf16: round to nearest-even, once
            y = arith.truncf(out_elt, y)
        linalg.YieldOp([y])
    return op.result


def _expand(block: BlockSpec, x: ir.Value, ex_filter: ir.Value, ex_bias: ir.Value | None) -> ir.Value:
    """The expand 1x1 conv before the depthwise layer: (pixels x CIN) @ (CIN x C) as a
    ``linalg.matmul`` tagged ``dwmlir.expand``, then its bias and activation as a
    ``linalg.generic`` tagged ``dwmlir.expand_epilogue``, reshaped to the conv's input.

    The rewrites never build this tensor whole: the depthwise code computes the expanded
    pixels it needs, tile by tile, into a stack scratch (``rewrite.expand``).
    """
    ex = block.expand
    assert ex is not None
    shape = list(block.input_shape)
    rank = len(shape)
    pixels = math.prod(shape[:-1])
    reassoc = [list(range(rank - 1)), [rank - 1]]
    elt = ir.RankedTensorType(x.type).element_type
    acc = element_type(block.conv.acc_dtype)  # f32 for bf16: the expansion rounded once, at the end
    c = block.conv.channels
    flat = tensor.collapse_shape(ir.RankedTensorType.get([pixels, ex.cin], elt), x, reassoc)
    zero = linalg.fill(zero_constant(acc), outs=[tensor.empty([pixels, c], acc)])
    mm = linalg.matmul(flat, ex_filter, outs=[zero])
    mm.owner.attributes[EXPAND_ATTR] = ir.UnitAttr.get()
    ins, maps = [mm], [ir.AffineMap.get_identity(2)]
    if ex_bias is not None:
        ins.append(ex_bias)
        maps.append(ir.AffineMap.get(2, 0, [ir.AffineDimExpr.get(1)]))
    maps.append(ir.AffineMap.get_identity(2))
    parallel = ir.Attribute.parse("#linalg.iterator_type<parallel>")
    op = linalg.GenericOp(
        [ir.RankedTensorType.get([pixels, c], elt)],
        ins,
        [tensor.empty([pixels, c], elt)],
        ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
        ir.ArrayAttr.get([parallel] * 2),
    )
    op.operation.attributes[EXPAND_EPILOGUE_ATTR] = epilogue_attr(ex.epilogue)
    body = op.regions[0].blocks.append(*[acc] * len(ins), elt)
    with ir.InsertionPoint(body):
        args = list(body.arguments)
        y = apply_epilogue(
            args[0], ex.epilogue, args[1] if ex_bias is not None else None, None, exact_exp=True
        )
        if y.type != elt:  # to the conv's input type: nearest-even
            y = arith.truncf(elt, y)
        linalg.YieldOp([y])
    out = list(block.conv.input_shape)
    return tensor.expand_shape(ir.RankedTensorType.get(out, elt), op.result, reassoc, [], out)


def _pointwise(
    block: BlockSpec,
    dw: ir.Value,
    pw_filter: ir.Value,
    pw_bias: ir.Value | None,
    pw_scale: ir.Value | None,
    block_input: ir.Value,
) -> ir.Value:
    """The 1x1 conv on the depthwise result, seen as (pixels x C*M) @ (C*M x COUT), then its
    epilogue (bias, activation or int8 requantization, residual) as a ``linalg.generic``
    tagged ``dwmlir.pw_epilogue``. After an int8 layer it is a ``linalg.quantized_matmul``
    whose input zero point is the depthwise output's.

    The rewrites fuse the whole chain: depthwise tiles go to a stack scratch, and a GEMM
    micro-kernel reads them from there.
    """
    pw = block.pointwise
    assert pw is not None
    if not block.conv.info.channels_last:
        return _pointwise_channels_first(block, dw, pw_filter, pw_bias, block_input)
    shape = list(block.dw_shape)
    rank = len(shape)
    chan_dims = 1 + block.conv.info.multiplier  # (c) or (c, m): the GEMM's reduction
    pixels = math.prod(shape[:-chan_dims])
    in_reassoc = [list(range(rank - chan_dims)), list(range(rank - chan_dims, rank))]
    dw_elt = ir.RankedTensorType(dw.type).element_type
    acc_elt = element_type(block.conv.acc_dtype)  # f32/f16, or i32 for int8
    flat = tensor.collapse_shape(
        ir.RankedTensorType.get([pixels, block.out_channels], dw_elt), dw, in_reassoc
    )
    out2 = [pixels, pw.cout]
    zero = linalg.fill(zero_constant(acc_elt), outs=[tensor.empty(out2, acc_elt)])
    if pw.epilogue.requantize:
        i32 = ir.IntegerType.get_signless(32)
        zps = [arith.constant(i32, block.epilogue.output_zp), arith.constant(i32, 0)]
        mm = linalg.quantized_matmul(flat, pw_filter, *zps, outs=[zero])
    else:
        mm = linalg.matmul(flat, pw_filter, outs=[zero])
    mm.owner.attributes[POINTWISE_ATTR] = ir.UnitAttr.get()
    ins = [mm]
    channel_map = ir.AffineMap.get(2, 0, [ir.AffineDimExpr.get(1)])
    maps = [ir.AffineMap.get_identity(2)]
    for param in (pw_bias, pw_scale):
        if param is not None:
            ins.append(param)
            maps.append(channel_map)
    out_rank = len(block.output_shape)
    out_reassoc = [list(range(out_rank - 1)), [out_rank - 1]]
    if block.residual:
        x_t = ir.RankedTensorType(block_input.type)
        ins.append(
            tensor.collapse_shape(ir.RankedTensorType.get(out2, x_t.element_type), block_input, out_reassoc)
        )
        maps.append(ir.AffineMap.get_identity(2))
    maps.append(ir.AffineMap.get_identity(2))
    out_elt = element_type(block.out_dtype)
    result = _pw_epilogue(block, ins, maps, out2, out_elt, pw_bias is not None, pw_scale is not None)
    out_t = ir.RankedTensorType.get(list(block.output_shape), out_elt)
    return tensor.expand_shape(out_t, result, out_reassoc, [], list(block.output_shape))


def _pw_epilogue(
    block: BlockSpec,
    ins: list[ir.Value],
    maps: list[ir.AffineMap],
    shape: list[int],
    out_elt: ir.Type,
    bias: bool,
    scale: bool,
) -> ir.Value:
    """The pointwise conv's epilogue (bias, activation or requantization, then the residual,
    the last of ``ins``) as a ``linalg.generic`` tagged ``dwmlir.pw_epilogue``."""
    parallel = ir.Attribute.parse("#linalg.iterator_type<parallel>")
    op = linalg.GenericOp(
        [ir.RankedTensorType.get(shape, out_elt)],
        ins,
        [tensor.empty(shape, out_elt)],
        ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
        ir.ArrayAttr.get([parallel] * len(shape)),
    )
    pw = block.pointwise
    assert pw is not None
    op.operation.attributes[PW_EPILOGUE_ATTR] = epilogue_attr(pw.epilogue, residual=block.residual)
    body = op.regions[0].blocks.append(*[ir.RankedTensorType(v.type).element_type for v in ins], out_elt)
    with ir.InsertionPoint(body):
        args = list(body.arguments)
        b = args[1] if bias else None
        sc = args[1 + bias] if scale else None
        y = apply_epilogue(args[0], pw.epilogue, b, sc, exact_exp=True)
        if block.residual:
            y = _add_widened(y, args[len(ins) - 1])
        if y.type != out_elt:  # f32 accumulators stored as bf16: round to nearest-even
            y = arith.truncf(out_elt, y)
        linalg.YieldOp([y])
    return op.result


def _pointwise_channels_first(
    block: BlockSpec, dw: ir.Value, pw_filter: ir.Value, pw_bias: ir.Value | None, block_input: ir.Value
) -> ir.Value:
    """``_pointwise`` for channels-first ops: per batch entry, (COUT x C) @ (C x pixels) as a
    tagged contraction ``linalg.generic``, then the epilogue generic, on (n, c, pixels) views."""
    pw = block.pointwise
    assert pw is not None
    n, c = block.conv.batch, block.conv.channels
    shape = list(block.dw_shape)
    pixels = math.prod(shape[2:])
    reassoc = [[0], [1], list(range(2, len(shape)))]
    elt = ir.RankedTensorType(dw.type).element_type  # f32 for bf16 blocks, as the accumulators
    flat = tensor.collapse_shape(ir.RankedTensorType.get([n, c, pixels], elt), dw, reassoc)
    out3 = [n, pw.cout, pixels]
    zero = linalg.fill(zero_constant(elt), outs=[tensor.empty(out3, elt)])
    w_elt = ir.RankedTensorType(pw_filter.type).element_type
    d = [ir.AffineDimExpr.get(i) for i in range(4)]  # (n, co, p, c)
    maps = [ir.AffineMap.get(4, 0, e) for e in ([d[0], d[3], d[2]], [d[1], d[3]], [d[0], d[1], d[2]])]
    par, red = (ir.Attribute.parse(f"#linalg.iterator_type<{k}>") for k in ("parallel", "reduction"))
    mm = linalg.GenericOp(
        [ir.RankedTensorType.get(out3, elt)],
        [flat, pw_filter],
        [zero],
        ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
        ir.ArrayAttr.get([par, par, par, red]),
    )
    mm.operation.attributes[POINTWISE_ATTR] = ir.UnitAttr.get()
    body = mm.regions[0].blocks.append(elt, w_elt, elt)
    with ir.InsertionPoint(body):
        x, w, acc = body.arguments
        w = w if w_elt == elt else arith.extf(elt, w)  # bf16 weights, f32 accumulators
        linalg.YieldOp([arith.addf(acc, arith.mulf(x, w))])
    ins = [mm.result]
    ident = ir.AffineMap.get_identity(3)
    maps = [ident]
    if pw_bias is not None:
        ins.append(pw_bias)
        maps.append(ir.AffineMap.get(3, 0, [ir.AffineDimExpr.get(1)]))
    if block.residual:
        x_elt = ir.RankedTensorType(block_input.type).element_type
        ins.append(tensor.collapse_shape(ir.RankedTensorType.get(out3, x_elt), block_input, reassoc))
        maps.append(ident)
    maps.append(ident)
    out_elt = element_type(block.out_dtype)
    result = _pw_epilogue(block, ins, maps, out3, out_elt, pw_bias is not None, False)
    out_t = ir.RankedTensorType.get(list(block.output_shape), out_elt)
    return tensor.expand_shape(out_t, result, reassoc, [], list(block.output_shape))


def _index(v: int | ir.Value) -> ir.Value:
    return v if isinstance(v, ir.Value) else arith.constant(ir.IndexType.get(), v)


def _mul(a: int | ir.Value, b: int | ir.Value) -> int | ir.Value:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    return arith.muli(_index(a), _index(b))


def runtime_dims(spec: ConvSpec, sizes: dict[str, ir.Value]) -> tuple[list, list, ir.Value]:
    """Input and output dims (ints, or index values for run-time sizes) and whether the sizes
    are valid: every size >= 1, every output size >= 1, and each buffer within
    ``MAX_ELEMENTS`` elements (checked before any product can overflow 64 bits).

    Each condition is "a term is in [0, 2**31)": the terms are OR-ed and compared once (a
    negative term has the top bit set), a dozen instructions per call fewer than one compare
    each, which counts in kernels of one channel step. A term in range bounds the next
    product below 2**62; a term out of range fails the check whatever the products wrapped to."""
    idx = ir.IndexType.get()
    info = spec.info
    bound = MAX_ELEMENTS + 1
    assert bound & (bound - 1) == 0, "the check below needs a power of two"
    in_dims = [sizes.get(ch, v) for ch, v in zip(info.input_layout, spec.input_shape, strict=True)]
    out = dict(n=in_dims[info.input_layout.index("n")], c=spec.channels, m=spec.multiplier)
    one = arith.constant(idx, 1)
    # size >= 1; <= bound by the totals. A spatial size whose output term (below) already
    # implies it is left out: at stride 1 with a filter span beyond the padding, output
    # size - 1 >= 0 gives size >= 1 and bounds size below 2**31 + span.
    implied = {
        info.spatial[j]
        for j in range(len(info.spatial))
        if spec.strides[j] == 1 and spec.dilations[j] * (spec.kernel[j] - 1) + 1 - sum(spec.padding[j]) >= 1
    }
    terms = [arith.subi(v, one) for ch, v in sizes.items() if ch not in implied]
    shrinks = spec.multiplier == 1  # every output dim at most its input dim
    for j, letter in enumerate(info.spatial):
        i = in_dims[info.input_layout.index(letter)]
        if letter not in sizes:
            out[letter] = spec.out_spatial[j]
            shrinks = shrinks and spec.out_spatial[j] <= spec.input_shape[info.input_layout.index(letter)]
            continue
        (lo, hi), k, s, d = spec.padding[j], spec.kernel[j], spec.strides[j], spec.dilations[j]
        span = d * (k - 1) + 1
        # (i + lo + hi - span) / s + 1 >= 1  <=>  i >= span - lo - hi; floordiv is exact then.
        room = arith.addi(i, arith.constant(idx, lo + hi - span))
        o = arith.floordivsi(room, arith.constant(idx, s)) if s > 1 else room
        terms.append(o)  # output size - 1 >= 0
        out[letter] = arith.addi(o, one)
        shrinks = shrinks and lo + hi < span  # then (i + lo + hi - span) / s + 1 <= i
    out_dims = [out[ch] for ch in info.output_layout]
    # The output's totals are at most the input's when no output dim is larger.
    for dims in (in_dims,) if shrinks else (in_dims, out_dims):
        total: int | ir.Value = 1
        for v in dims:
            # A lone size as the first total is bounded by its own term and the last total.
            lone = isinstance(total, int) and total == 1 and isinstance(v, ir.Value)
            total = _mul(total, v)
            if isinstance(total, ir.Value) and not lone:
                terms.append(total)
    bad = terms[0]
    for t in terms[1:]:
        bad = arith.ori(bad, t)
    return in_dims, out_dims, arith.cmpi(arith.CmpIPredicate.ult, bad, arith.constant(idx, bound))


def _view(ptr: ir.Value, dims: list, elt: ir.Type) -> ir.Value:
    """A dense row-major memref of ``dims`` at the bare pointer ``ptr`` (a ``memref<1xT>``)."""
    dyn_size, dyn_stride = ir.ShapedType.get_dynamic_size(), ir.ShapedType.get_dynamic_stride_or_offset()
    strides: list = [1]
    for v in reversed(dims[1:]):
        strides.insert(0, _mul(strides[0], v))
    result = ir.MemRefType.get([v if isinstance(v, int) else dyn_size for v in dims], elt)
    return memref.reinterpret_cast(
        result,
        ptr,
        [],
        [v for v in dims if not isinstance(v, int)],
        [v for v in strides if not isinstance(v, int)],
        [0],
        [v if isinstance(v, int) else dyn_size for v in dims],
        [v if isinstance(v, int) else dyn_stride for v in strides],
    )


PART_SUFFIX = "_part"
# On a ``NAME_part`` function: its last two arguments are ``int part, int parts``.
PART_ATTR = "dwmlir.part"


def build_kernel_module(
    spec: ConvSpec | BlockSpec, part: bool = True, whole_calls_part: bool = False
) -> ir.Module:
    """Return a module with ``func.func @<name>`` in the C ABI's argument order and, with
    ``part``, ``@<name>_part`` with ``int32_t part, int32_t parts`` after it (one share of the
    work, see ``rewrite.vector_rows.part_range``). ``whole_calls_part``: ``@<name>`` only
    calls ``@<name>_part(..., 0, 1)``, for kernels whose whole call would be the same code
    (``rewrite.blocked.whole_is_part``), which then goes through the backend once.

    ``(input, [expand_filter, [expand_bias,]] filter, [input_zp, filter_zp,] [bias,]
    [requant_scale,] [pw_filter, ...] output)``: see ``BlockSpec.args`` (call inside a
    Context). The conv accumulates into a zero-filled tensor; the parts of a block around it
    are tagged ``linalg`` ops that the rewrites fuse into the conv's code.
    """
    block = as_block(spec)
    loc = ir.Location.name(f"dwmlir.{block.conv.name}")
    with loc:
        module = ir.Module.create()
        with ir.InsertionPoint(module.body):
            if part and whole_calls_part:
                _call_part(block)
            else:
                _kernel_func(block, part=False)
            if part:
                _kernel_func(block, part=True)
    return module


def _abi_type(a: KernelArg) -> ir.Type:
    """An argument's MLIR type: i64 sizes, i32 scalars, memrefs for buffers."""
    if a.is_size:
        return ir.IntegerType.get_signless(64)
    if not a.is_buffer:
        return ir.IntegerType.get_signless(32)
    # A buffer with run-time sizes is a bare pointer, viewed with its sizes inside.
    return ir.MemRefType.get([1] if a.dynamic else list(a.shape), element_type(a.dtype))


def _abi_func(name: str, block: BlockSpec, extra: list[ir.Type]) -> func.FuncOp:
    """``func.func @name`` taking ``block``'s C ABI arguments, then ``extra``; buffers noalias."""
    arg_types = [_abi_type(a) for a in block.args] + extra
    fn = func.FuncOp(name, ir.FunctionType.get(arg_types, []))
    noalias = ir.DictAttr.get({"llvm.noalias": ir.UnitAttr.get()})
    fn.arg_attrs = ir.ArrayAttr.get(
        [ir.DictAttr.get({}) if isinstance(t, ir.IntegerType) else noalias for t in arg_types]
    )
    return fn


def _call_part(block: BlockSpec) -> None:
    """``@<name>(args)`` as ``@<name>_part(args, 0, 1)`` at the insertion point."""
    fn = _abi_func(block.conv.name, block, [])
    with ir.InsertionPoint(fn.add_entry_block()):
        i32 = ir.IntegerType.get_signless(32)
        share = [arith.constant(i32, 0), arith.constant(i32, 1)]
        func.CallOp([], ir.FlatSymbolRefAttr.get(block.conv.name + PART_SUFFIX), [*fn.arguments, *share])
        func.ReturnOp([])


def _kernel_func(block: BlockSpec, part: bool) -> None:
    """The kernel's ``func.func`` (``part``: its ``NAME_part`` twin) at the insertion point."""
    spec = block.conv
    elt, acc_elt = element_type(spec.dtype), element_type(spec.acc_dtype)
    i32 = ir.IntegerType.get_signless(32)
    names = [a.name for a in block.args] + (["part", "parts"] if part else [])
    q = spec.info.quantized
    fn = _abi_func(spec.name + (PART_SUFFIX if part else ""), block, [i32, i32] if part else [])
    if part:
        fn.attributes[PART_ATTR] = ir.UnitAttr.get()
    entry = fn.add_entry_block()
    with ir.InsertionPoint(entry):
        args = dict(zip(names, entry.arguments, strict=True))
        out_dims: list = list(spec.output_shape)
        guard = None
        if spec.is_dynamic:
            idx = ir.IndexType.get()
            sizes = {ch: arith.index_cast(idx, args[ch]) for ch in spec.dynamic}
            in_dims, out_dims, ok = runtime_dims(spec, sizes)
            # Sizes giving no output (or too large): return without touching a buffer.
            guard = scf.IfOp(ok)
            ip = ir.InsertionPoint(guard.then_block)
            ip.__enter__()
            args["input"] = _view(args["input"], in_dims, elt)
            args["output"] = _view(args["output"], out_dims, element_type(block.out_dtype))

        def tensor_of(name: str) -> ir.Value:
            t = ir.MemRefType(args[name].type)
            tt = ir.RankedTensorType.get(list(t.shape), t.element_type)
            return bufferization.to_tensor(tt, args[name], restrict=True)

        ta, tb = tensor_of("input"), tensor_of("filter")
        ta_raw = ta  # the block's input (for the residual)
        if block.expand is not None:
            ex_bias = tensor_of("expand_bias") if "expand_bias" in args else None
            ta = _expand(block, ta, tensor_of("expand_filter"), ex_bias)
        zps = [args["input_zp"], args["filter_zp"]] if q else []
        pad_value = arith.trunci(elt, zps[0]) if q and spec.has_padding else None
        ta = pad_input(spec, ta, elt, pad_value)
        empty = tensor.empty(out_dims, acc_elt)
        zero = linalg.fill(zero_constant(acc_elt), outs=[empty])
        result = getattr(linalg, spec.op)(
            ta, tb, *zps, outs=[zero], strides=list(spec.strides), dilations=list(spec.dilations)
        )
        dw_residual = block.adds_input_to_depthwise
        if not block.epilogue.empty or spec.out_dtype != spec.acc_dtype or dw_residual:
            bias = tensor_of("bias") if "bias" in args else None
            scale = tensor_of("requant_scale") if "requant_scale" in args else None
            result = _epilogue(block, result, bias, scale, ta_raw if dw_residual else None)
        if block.pointwise is not None:
            pw_bias = tensor_of("pw_bias") if "pw_bias" in args else None
            pw_scale = tensor_of("pw_requant_scale") if "pw_requant_scale" in args else None
            result = _pointwise(block, result, tensor_of("pw_filter"), pw_bias, pw_scale, ta_raw)
        bufferization.materialize_in_destination(None, result, args["output"], restrict=True, writable=True)
        if guard is not None:
            scf.YieldOp([])
            ip.__exit__(None, None, None)
        func.ReturnOp([])
