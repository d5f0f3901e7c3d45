"""The numpy reference of a block: the depthwise reference, then the epilogue by its formulas.

Floats go through float64 (the kernel's rounding is bounded by ``compare_block``'s
tolerance); int8 requantization follows the kernel's arithmetic exactly, as TFLite and
XNNPACK define the "fp32" form: float32(acc + bias) * scale in float32, clamped, rounded
to nearest-even, plus the output zero point.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..spec import DTYPES, BlockSpec, ConvSpec, Epilogue, as_block
from .bf16 import bf16_operand, from_bf16, round_bf16, to_bf16
from .numpy_ref import (
    Comparison,
    acc_np_dtype,
    compare,
    compare_bf16,
    compare_within,
    depthwise_reference,
    random_operands,
    reference_output,
)

BF16_EPS = 2.0**-7  # a bf16's machine epsilon (8 significant bits)
# Largest slope of each activation: how much an error in its input can grow.
_LIPSCHITZ = {"none": 1.0, "relu": 1.0, "relu6": 1.0, "clamp": 1.0, "silu": 1.1, "hardswish": 1.5}


def per_channel(block: BlockSpec, values: np.ndarray) -> np.ndarray:
    """``values`` (one per output channel, c*M+m) shaped to broadcast over the output."""
    info = block.conv.info
    layout = info.output_layout
    shape = [1] * len(layout)
    if info.multiplier:
        shape[layout.index("c")], shape[layout.index("m")] = block.conv.channels, block.conv.multiplier
    else:
        shape[layout.index("c")] = block.conv.channels
    return values.reshape(shape)


def _wrap_i32(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.int64) & 0xFFFFFFFF
    return np.where(x >= 2**31, x - 2**32, x).astype(np.int32)


def activation(kind: str, x: np.ndarray, lo: float = 0.0, hi: float = 0.0) -> np.ndarray:
    """The float activations, as torch defines them."""
    with np.errstate(over="ignore", invalid="ignore"):
        if kind == "none":
            return x
        if kind == "relu":
            return np.maximum(x, 0)
        if kind == "relu6":
            return np.minimum(np.maximum(x, 0), 6)
        if kind == "clamp":
            return np.minimum(np.maximum(x, lo), hi)
        if kind == "silu":
            return x / (1 + np.exp(-x))
        if kind == "hardswish":
            return x * np.minimum(np.maximum(x + 3, 0), 6) / 6
    raise ValueError(kind)


def requantize(block: BlockSpec, acc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """int32 accumulators -> int8: clamp(roundeven(f32(acc) * scale) + zp, lo, hi)."""
    return _requantize(block.epilogue, acc, per_channel(block, scale))


def _requantize(epi: Epilogue, acc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``requantize`` with ``scale`` already shaped to broadcast over ``acc``."""
    lo, hi = epi.int8_bounds()
    y = acc.astype(np.float32) * scale.astype(np.float32)
    q = np.rint(y.astype(np.float64)) + epi.output_zp  # rint: ties to even
    return np.clip(np.nan_to_num(q, nan=lo), lo, hi).astype(np.int8)


def dw_channels_last(block: BlockSpec, dw: np.ndarray) -> np.ndarray:
    """The depthwise result as (n, spatial..., C*M): what the pointwise conv reduces over."""
    if not block.conv.info.channels_last:
        return np.moveaxis(dw, 1, -1)
    return dw.reshape(*dw.shape[: 1 + block.conv.info.rank], block.out_channels)


def pw_weights(block: BlockSpec, pw_filter: np.ndarray) -> np.ndarray:
    """The pointwise weights as (C*M, COUT), whichever convention the op's family uses."""
    return pw_filter if block.conv.info.channels_last else pw_filter.T


def to_output_layout(block: BlockSpec, y: np.ndarray) -> np.ndarray:
    """(n, spatial..., COUT) in the block's output layout."""
    return y if block.conv.info.channels_last else np.moveaxis(y, -1, 1)


def block_reference(
    spec: ConvSpec | BlockSpec, inp: np.ndarray, flt: np.ndarray, *params: np.ndarray
) -> np.ndarray:
    """The block's output: float64 for float blocks, the exact integers otherwise.

    ``params``: the epilogue's buffers in ABI order (``bias``, ``requant_scale``).
    """
    block = _at(as_block(spec), inp)
    y = _unrounded(block, inp, flt, params)
    if block.pointwise is not None and not block.pointwise.epilogue.requantize:
        return reference_output(block.conv.dtype, block.out_dtype, y)
    return y


def _at(block: BlockSpec, inp: np.ndarray) -> BlockSpec:
    """The static block the kernel computes at this input's sizes."""
    return dataclasses.replace(block, conv=block.conv.at(inp.shape)) if block.conv.is_dynamic else block


def _unrounded(block: BlockSpec, inp: np.ndarray, flt: np.ndarray, params) -> np.ndarray:
    """``block_reference`` before a pointwise stage's float result is rounded to the block's
    output type (a bf16 block's f32 or bf16)."""
    named = block.named_params(params)
    bias, scale = named.get("bias"), named.get("requant_scale")
    dw = _depthwise_layer(block, expanded(block, inp, named), flt, bias, scale)
    pw = block.pointwise
    if pw is None:
        if block.residual:  # the input's c*M+m as (c, m); a bf16 sum rounded once, as stored
            dw = dw.astype(np.float64) + _float_operand(block, inp).astype(np.float64).reshape(dw.shape)
        return reference_output(block.conv.dtype, block.out_dtype, dw)
    x = dw_channels_last(block, dw)
    weights = pw_weights(block, _float_operand(block, named["pw_filter"]))
    if pw.epilogue.requantize:  # int8 x int8 -> int32, less the depthwise output's zero point
        acc = (x.astype(np.int64) - block.epilogue.output_zp) @ weights.astype(np.int64)
        acc = _wrap_i32(acc)
        if pw.epilogue.bias:
            acc = _wrap_i32(acc.astype(np.int64) + named["pw_bias"].astype(np.int64))
        return _requantize(pw.epilogue, acc, named["pw_requant_scale"])
    y = x.astype(np.float64) @ weights.astype(np.float64)  # (..., C*M) @ (C*M, COUT)
    if pw.epilogue.bias:
        y = y + named["pw_bias"].astype(np.float64)
    y = to_output_layout(
        block,
        activation(pw.epilogue.activation.kind, y, pw.epilogue.activation.lo, pw.epilogue.activation.hi),
    )
    if block.residual:
        y = y + _float_operand(block, inp).astype(np.float64)
    return y


def _conv_typed(block: BlockSpec, values: np.ndarray) -> np.ndarray:
    """Float ``values`` as a buffer of the conv's type holds them (bf16: bit patterns)."""
    return to_bf16(values) if block.conv.dtype == "bf16" else values.astype(block.conv.np_dtype)


def _float_operand(block: BlockSpec, arr: np.ndarray) -> np.ndarray:
    """A buffer of the conv's type as floats: bf16 bit patterns widened, others unchanged."""
    return from_bf16(bf16_operand(arr)) if block.conv.dtype == "bf16" else arr


def expanded(block: BlockSpec, inp: np.ndarray, named: dict) -> np.ndarray:
    """The depthwise conv's input: the block's input, or with an expand stage
    act(input @ expand_filter + expand_bias), rounded to the conv's type as the kernel keeps
    it (padding, applied by the conv, stays 0)."""
    ex = block.expand
    if ex is None:
        return inp
    x, w = _float_operand(block, inp), _float_operand(block, named["expand_filter"])
    e = x.astype(np.float64) @ w.astype(np.float64)  # (..., CIN) @ (CIN, C)
    if ex.epilogue.bias:
        e = e + named["expand_bias"].astype(np.float64)
    act = ex.epilogue.activation
    y = activation(act.kind, e, act.lo, act.hi)
    return round_bf16(y) if block.conv.dtype == "bf16" else y.astype(block.conv.np_dtype)


def _expand_error(block: BlockSpec, inp: np.ndarray, named: dict) -> np.ndarray:
    """A bound on |kernel's expanded input - ``expanded``|: the GEMM's rounding over CIN
    terms, through the activation's slope, plus the two roundings to the conv's type."""
    ex = block.expand
    assert ex is not None
    eps = float(np.finfo(acc_np_dtype(block.conv.dtype)).eps)  # the GEMM's, f32 for bf16
    stored = BF16_EPS if block.conv.dtype == "bf16" else eps  # the expanded value's type's
    w = np.abs(_float_operand(block, named["expand_filter"]).astype(np.float64))
    magnitude = np.abs(inp.astype(np.float64)) @ w
    if ex.epilogue.bias:
        magnitude = magnitude + np.abs(named["expand_bias"].astype(np.float64))
    slope = _LIPSCHITZ[ex.epilogue.activation.kind]
    return slope * 2.0 * (w.shape[0] + 2) * eps * magnitude + 2.0 * stored * magnitude * slope


def _depthwise_layer(
    block: BlockSpec, inp: np.ndarray, flt: np.ndarray, bias: np.ndarray | None, scale: np.ndarray | None
) -> np.ndarray:
    """The depthwise conv and its epilogue."""
    epi = block.epilogue
    acc = depthwise_reference(block.conv, inp, flt)
    if epi.bias:
        assert bias is not None
        if np.issubdtype(acc.dtype, np.integer):
            acc = _wrap_i32(acc.astype(np.int64) + per_channel(block, bias.astype(np.int64)))
        else:
            acc = acc + per_channel(block, bias.astype(np.float64))
    if epi.requantize:
        assert scale is not None
        return requantize(block, acc, scale)
    act = epi.activation
    if act.kind != "none":
        acc = activation(act.kind, acc, act.lo, act.hi)
    return acc


def random_block_operands(block: BlockSpec, seed: int) -> list[np.ndarray]:
    """Input, filter and the epilogue's buffers (ABI order), random but reproducible.

    Requantization scales mix powers of two (products are exact, so rounding ties occur)
    with arbitrary ones, and some are large enough to saturate.
    """
    inp, flt = random_operands(block.conv, seed)
    out = [inp, flt]
    rng = np.random.default_rng(seed + 1)
    ch = block.out_channels
    ex = block.expand
    if ex is not None:  # the block's input has CIN channels; weights keep the expansion O(1)
        out[0] = _conv_typed(block, rng.uniform(-1.0, 1.0, block.input_shape))
        scale = 2.0 / np.sqrt(ex.cin)
        out.append(_conv_typed(block, rng.uniform(-1.0, 1.0, (ex.cin, block.conv.channels)) * scale))
        if ex.epilogue.bias:  # the accumulators' type: f32 for bf16
            out.append(rng.uniform(-1.0, 1.0, block.conv.channels).astype(DTYPES[block.conv.acc_dtype][1]))
    if block.epilogue.bias:
        dt = block.bias_dtype
        if dt.startswith("f"):
            out.append(rng.uniform(-1.0, 1.0, ch).astype(DTYPES[dt][1]))
        elif block.conv.info.quantized:
            out.append(rng.integers(-5000, 5001, ch).astype(np.int32))
        else:
            out.append(rng.integers(-100, 101, ch).astype(np.int32))
    if block.epilogue.requantize:
        pow2 = 2.0 ** -rng.integers(4, 10, ch)
        arbitrary = rng.uniform(0.001, 0.03, ch)
        out.append(np.where(rng.random(ch) < 0.5, pow2, arbitrary).astype(np.float32))
    pw = block.pointwise
    if pw is not None and pw.epilogue.requantize:
        out.append(rng.integers(-128, 128, _pw_filter_shape(block)).astype(np.int8))
        if pw.epilogue.bias:
            out.append(rng.integers(-5000, 5001, pw.cout).astype(np.int32))
        # Sums of C int8 products: scales shrink with sqrt(C) to keep some outputs in range.
        pow2 = 2.0 ** -rng.integers(6, 12, pw.cout)
        arbitrary = rng.uniform(0.0005, 0.01, pw.cout)
        out.append(np.where(rng.random(pw.cout) < 0.5, pow2, arbitrary).astype(np.float32))
    elif pw is not None:
        out.append(_conv_typed(block, rng.uniform(-1.0, 1.0, _pw_filter_shape(block))))
        if pw.epilogue.bias:  # the accumulators' type: f32 for bf16
            out.append(rng.uniform(-1.0, 1.0, pw.cout).astype(DTYPES[block.conv.acc_dtype][1]))
    return out


def _pw_filter_shape(block: BlockSpec) -> tuple[int, ...]:
    return next(a.shape for a in block.buffers if a.name == "pw_filter")


def compare_block(spec: ConvSpec | BlockSpec, got: np.ndarray, want: np.ndarray, operands) -> Comparison:
    """Exact for integer outputs; for floats the conv's bound carried through the epilogue.

    The conv's elementwise bound (``compare``) grows by at most the activation's slope; the
    bias add and the activation itself add a few roundings of the result.
    """
    block = as_block(spec)
    inp, flt = operands[0], operands[1]
    if block.epilogue.empty and block.pointwise is None and block.expand is None and not block.residual:
        return compare(block.conv, got, want, inp, flt)
    if got.shape != want.shape:
        return Comparison(False, float("inf"), 0.0, int(np.prod(want.shape)))
    if block.out_dtype.startswith("i"):
        bad = int(np.count_nonzero(got != want))
        err = float(np.max(np.abs(got.astype(np.int64) - want.astype(np.int64)), initial=0))
        return Comparison(bad == 0, err, 0.0, bad)
    conv = block.conv
    acc_dt = acc_np_dtype(conv.dtype)
    eps = float(np.finfo(acc_dt).eps)
    taps = int(np.prod(conv.kernel))
    if conv.dtype == "bf16":
        inp, flt = from_bf16(bf16_operand(inp)), from_bf16(bf16_operand(flt))
    named = block.named_params(operands[2:])
    x = expanded(block, inp, named)
    with np.errstate(invalid="ignore"):
        magnitude = depthwise_reference(conv, np.abs(x), np.abs(flt)).astype(np.float64)
    if block.epilogue.bias:
        magnitude = magnitude + np.abs(per_channel(block, named["bias"].astype(np.float64)))
    slope = _LIPSCHITZ[block.epilogue.activation.kind]
    tiny = float(np.finfo(acc_dt).smallest_subnormal)
    dw_ref = _depthwise_layer(block, x, flt, named.get("bias"), None)
    tol = slope * 2.0 * (taps + 2) * eps * magnitude + 8.0 * eps * np.abs(dw_ref) + tiny
    if block.expand is not None:  # the expanded input's own error, through the filter
        x_err = _expand_error(block, inp, named)
        with np.errstate(invalid="ignore", over="ignore"):
            tol = tol + slope * depthwise_reference(conv, x_err, np.abs(flt).astype(np.float64))
    pw = block.pointwise
    if pw is not None:
        # Each depthwise error reaches every output channel through |W|; the GEMM adds its
        # own rounding over C terms of |dw| |W|.
        w = np.abs(pw_weights(block, _float_operand(block, named["pw_filter"])).astype(np.float64))
        dw_ref, tol = dw_channels_last(block, dw_ref), dw_channels_last(block, tol)
        magnitude = np.abs(dw_ref.astype(np.float64)) @ w
        if pw.epilogue.bias:
            magnitude = magnitude + np.abs(named["pw_bias"].astype(np.float64))
        slope = _LIPSCHITZ[pw.epilogue.activation.kind]
        tol = slope * (tol @ w + 2.0 * (w.shape[0] + 2) * eps * magnitude)
        tol = to_output_layout(block, tol) + 8.0 * eps * np.abs(want) + tiny
        if block.residual:
            tol = tol + 2.0 * eps * np.abs(inp.astype(np.float64))
    elif block.residual:  # the depthwise result rounded, then the add
        x_in = inp.astype(np.float64).reshape(dw_ref.shape)
        tol = tol + 2.0 * eps * (np.abs(dw_ref.astype(np.float64)) + np.abs(x_in))
        dw_ref = dw_ref + x_in
    if block.out_dtype == "bf16":  # against the unrounded output
        exact = dw_ref
        if pw is not None:
            exact = _unrounded(_at(block, operands[0]), operands[0], operands[1], operands[2:])
        return compare_bf16(got, exact, tol)
    return compare_within(got, want, tol)
