"""Direct depthwise convolution in numpy, written from the op definitions' formulas.

It shares nothing with the compiler path except the spec's layout letters: it transposes
every operand to a canonical (n, spatial..., c[, m]) form, sums over taps with strided
slices, and transposes back.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..spec import ConvSpec
from .bf16 import bf16_operand, from_bf16, round_bf16, to_bf16


def _to_canonical(arr: np.ndarray, layout: str, order: str) -> np.ndarray:
    return np.transpose(arr, [layout.index(ch) for ch in order])


def _in_bounds(offset: int, out: int, stride: int, size: int) -> tuple[slice, slice] | None:
    """Outputs ``o`` in ``[0, out)`` whose input ``o * stride + offset`` lies in ``[0, size)``,
    as (output slice, input slice), or None if there are none."""
    first = max(0, -(offset // stride))  # ceil(-offset / stride)
    last = min(out - 1, (size - 1 - offset) // stride)
    if first > last:
        return None
    start = first * stride + offset
    return slice(first, last + 1), slice(start, start + (last - first) * stride + 1, stride)


def depthwise_reference(spec: ConvSpec, inp: np.ndarray, flt: np.ndarray) -> np.ndarray:
    """Compute the op's output in float64 (floats) or wrapping int32 arithmetic (ints)."""
    info = spec.info
    sp = info.spatial
    acc = np.float64 if spec.dtype.startswith(("f", "bf")) else np.int64
    if spec.dtype == "bf16":  # bit patterns (or values, rounded to bf16 first) -> exact floats
        inp, flt = from_bf16(bf16_operand(inp)), from_bf16(bf16_operand(flt))
    x = _to_canonical(inp, info.input_layout, "n" + sp + "c").astype(acc) - spec.input_zp
    # Padding holds zeros; for quantized ops it holds the input zero point, i.e. zero after
    # subtracting it, so in both cases a padded tap contributes nothing: it is never built,
    # each tap adds only to the outputs it reads in bounds (memory follows the output size).
    w_order = sp + "c" + ("m" if info.multiplier else "")
    w = _to_canonical(flt, info.filter_layout, w_order).astype(acc) - spec.filter_zp
    if not info.multiplier:
        w = w[..., np.newaxis]
    out_sp = spec.out_spatial
    out = np.zeros((spec.batch, *out_sp, spec.channels, spec.multiplier), dtype=acc)
    for taps in itertools.product(*(range(k) for k in spec.kernel)):
        reads = [
            _in_bounds(t * d - lo, o, s, i)
            for t, o, s, d, (lo, _), i in zip(
                taps, out_sp, spec.strides, spec.dilations, spec.padding, spec.in_spatial, strict=True
            )
        ]
        if any(r is None for r in reads):
            continue  # every output reads this tap from the padding
        window = x[(slice(None), *(r[1] for r in reads))]  # (n, in-bounds outputs..., c)
        out[(slice(None), *(r[0] for r in reads))] += window[..., np.newaxis] * w[taps]
    if spec.out_dtype.startswith("i"):
        out = out.astype(np.int64) & 0xFFFFFFFF
        out = np.where(out >= 2**31, out - 2**32, out).astype(np.int32)
    if not info.multiplier:
        out = out[..., 0]
    canon = "n" + sp + "c" + ("m" if info.multiplier else "")
    return np.transpose(out, [canon.index(ch) for ch in info.output_layout])


def random_operands(spec: ConvSpec, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random input and filter in the op's layouts; small integers keep i32 sums exact."""
    rng = np.random.default_rng(seed)
    if spec.dtype == "bf16":
        inp = to_bf16(rng.uniform(-1.0, 1.0, spec.input_shape))
        flt = to_bf16(rng.uniform(-1.0, 1.0, spec.filter_shape))
    elif spec.dtype == "f16":
        # Quarter-integers: every product and partial sum is exact in f16 for small kernels.
        inp = (rng.integers(-8, 9, spec.input_shape) / 4).astype(spec.np_dtype)
        flt = (rng.integers(-8, 9, spec.filter_shape) / 4).astype(spec.np_dtype)
    elif spec.dtype.startswith("f"):
        inp = rng.uniform(-1.0, 1.0, spec.input_shape).astype(spec.np_dtype)
        flt = rng.uniform(-1.0, 1.0, spec.filter_shape).astype(spec.np_dtype)
    elif spec.dtype == "i8":
        inp = rng.integers(-128, 128, spec.input_shape).astype(spec.np_dtype)
        flt = rng.integers(-128, 128, spec.filter_shape).astype(spec.np_dtype)
    else:
        inp = rng.integers(-100, 101, spec.input_shape).astype(spec.np_dtype)
        flt = rng.integers(-100, 101, spec.filter_shape).astype(spec.np_dtype)
    return inp, flt


@dataclass(frozen=True)
class Comparison:
    ok: bool
    max_abs_err: float
    tolerance: float
    mismatches: int


def compare(
    spec: ConvSpec, got: np.ndarray, want: np.ndarray, inp: np.ndarray, flt: np.ndarray
) -> Comparison:
    """Exact for integers; for floats an elementwise bound from the taps and magnitudes.

    Each output is a sum of T = prod(kernel) products. Computed in the element type with any
    summation order, its error is at most about T * eps * sum|x * w| (Higham's bound for
    recursive summation, plus one rounding per product); we allow twice that, elementwise,
    with sum|x * w| taken from the same reference run on |x| and |w|. NaN matches NaN and an
    infinity matches the same infinity (NaN and Inf propagate as IEEE arithmetic says).
    """
    if got.shape != want.shape:
        return Comparison(False, float("inf"), 0.0, int(np.prod(want.shape)))
    if spec.out_dtype.startswith("i"):
        bad = int(np.count_nonzero(got != want))
        err = float(np.max(np.abs(got.astype(np.int64) - want.astype(np.int64)), initial=0))
        return Comparison(bad == 0, err, 0.0, bad)
    taps = int(np.prod(spec.kernel))
    acc_dt = acc_np_dtype(spec.dtype)
    eps = float(np.finfo(acc_dt).eps)
    inp_signed, flt_signed = inp, flt
    if spec.dtype == "bf16":
        inp, flt = np.abs(from_bf16(bf16_operand(inp))), np.abs(from_bf16(bf16_operand(flt)))
    with np.errstate(invalid="ignore"):  # Inf * 0 in the operands: NaN, as in the kernel
        magnitude = depthwise_reference(spec, np.abs(inp), np.abs(flt)).astype(np.float64)
    tol = 2.0 * (taps + 1) * eps * magnitude + float(np.finfo(acc_dt).smallest_subnormal)
    if spec.out_dtype == "bf16":
        with np.errstate(invalid="ignore"):
            exact = depthwise_reference(spec, inp_signed, flt_signed)
        return compare_bf16(got, exact, tol)
    return compare_within(got, want, tol)


def acc_np_dtype(dtype: str) -> str:
    """The numpy type of a float conv's accumulators (bf16 accumulates in float32)."""
    return "float32" if dtype == "bf16" else np.dtype(dtype.replace("f", "float")).name


def compare_bf16(got: np.ndarray, exact: np.ndarray, tol: np.ndarray) -> Comparison:
    """A bf16 output (bits) against the unrounded reference ``exact``: each element must be a
    bf16 that some f32 result within ``tol`` of ``exact`` rounds to (nearest-even is monotone,
    so the bf16s between the rounded ends of the interval). An output that truncates, or
    rounds a clear case the wrong way, falls outside. NaN and infinite references (and
    infinite bounds) are compared as they round. The error reported is against the rounded
    reference."""
    rounded = round_bf16(exact)
    with np.errstate(invalid="ignore", over="ignore"):
        lo, hi = round_bf16(exact - tol), round_bf16(exact + tol)
        plain = ~(np.isfinite(exact) & np.isfinite(tol) & np.isfinite(lo) & np.isfinite(hi))
        want = np.where(plain | (lo == hi), np.where(plain, rounded, lo), (lo + hi) / 2)
        half = np.where(plain | (lo == hi), 0.0, (hi - lo) / 2)
    values = from_bf16(got)
    cmp = compare_within(values, want, half)
    err = compare_within(values, rounded, np.zeros_like(rounded)).max_abs_err
    return Comparison(cmp.ok, err, cmp.tolerance, cmp.mismatches)


def reference_output(dtype: str, out_dtype: str, out: np.ndarray) -> np.ndarray:
    """The reference's float64 result rounded as a bf16 kernel stores it: nearest-even to
    bf16, or to its f32 accumulators' type (a sum past the f32 range is an infinity there)."""
    if out_dtype == "bf16":
        return round_bf16(out)
    if dtype == "bf16":
        with np.errstate(over="ignore"):
            return out.astype(np.float32).astype(np.float64)
    return out


def compare_within(got: np.ndarray, want: np.ndarray, tol: np.ndarray) -> Comparison:
    """Floats equal within ``tol`` elementwise; NaN matches NaN and an infinity the same one."""
    with np.errstate(invalid="ignore"):
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    both_nan = np.isnan(got) & np.isnan(want)
    same_inf = np.isinf(want) & (got == want)
    bad_mask = ~(diff <= tol) & ~both_nan & ~same_inf
    bad = int(np.count_nonzero(bad_mask))
    err = float(np.max(np.where(both_nan | same_inf, 0.0, diff), initial=0.0))
    return Comparison(bad == 0, err, float(np.max(tol, initial=0.0)), bad)
