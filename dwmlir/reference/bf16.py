"""bfloat16 in numpy, which has no such type: arrays of its bit patterns (``uint16``).

A bf16 is the top half of the IEEE float32 with the same sign and exponent, so widening is
a 16-bit shift and exact; narrowing rounds the low 16 bits away to nearest, ties to even,
as SVE's ``bfcvt`` does (and as the kernel's ``arith.truncf`` is defined). Written from
those definitions; the self-test in ``test/python/bf16.py`` checks ties, NaN and overflow.
"""

from __future__ import annotations

import numpy as np

QUIET_BIT = 0x0040  # the top mantissa bit of a bf16


def from_bf16(bits: np.ndarray) -> np.ndarray:
    """bf16 bit patterns -> float32 values (exact)."""
    wide = np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16
    return wide.view(np.float32)


def to_bf16(values: np.ndarray) -> np.ndarray:
    """Float values -> bf16 bit patterns, rounded to nearest-even.

    Values are first rounded to float32 (as the kernel's float32 accumulators are), then
    to bf16: add 0x7FFF plus the lowest kept bit and drop 16 bits. Finite values past the
    largest bf16 round to infinity; a NaN stays a NaN (quieted, sign and top payload kept).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        f = np.asarray(values, dtype=np.float64).astype(np.float32)
    u = np.ascontiguousarray(f).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    nan = (u >> 16 | QUIET_BIT) & 0xFFFF
    return np.where(np.isnan(f), nan, rounded).astype(np.uint16)


def round_bf16(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to the nearest bf16 (through float32), as float64."""
    return from_bf16(to_bf16(values)).astype(np.float64)


def bf16_operand(arr: np.ndarray) -> np.ndarray:
    """A bf16 buffer as bit patterns: ``uint16`` arrays are taken as bits, anything else as
    values rounded to nearest-even."""
    arr = np.asarray(arr)
    return arr if arr.dtype == np.uint16 else to_bf16(arr)
