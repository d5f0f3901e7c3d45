"""The epilogue's arithmetic (bias, activation, int8 requantization) on scalars or vectors.

One emitter serves both the linalg payload (a ``linalg.generic`` body on scalars, which
states the semantics) and the fused vector code the rewrites store from registers, so the
two cannot drift apart. Only ``exp`` differs: the payload says ``math.exp``; fused code
uses our own range-reduced polynomial, since a scalable vector ``exp`` has no libm to call
and the kernels promise to need only libc.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from mlir import ir
from mlir.dialects import arith, llvm, math

from ..spec import Activation, Epilogue

EPILOGUE_ATTR = "dwmlir.epilogue"
POINTWISE_ATTR = "dwmlir.pointwise"  # on the linalg.matmul of a block's 1x1 conv
PW_EPILOGUE_ATTR = "dwmlir.pw_epilogue"  # the 1x1 conv's epilogue (+ "residual")
EXPAND_ATTR = "dwmlir.expand"  # on the linalg.matmul of a block's expand 1x1 conv
EXPAND_EPILOGUE_ATTR = "dwmlir.expand_epilogue"  # the expand conv's bias and activation

_LOG2E = 1.4426950408889634
_LN2_HI = 0.693359375  # ln 2 split in two (Cody and Waite): n * _LN2_HI is exact
_LN2_LO = -2.12194440e-4
_EXP_MAX = 88.0  # e^88 < FLT_MAX, and 2^127 still has an exponent
_EXP_MIN = -87.0  # e^-87 > FLT_MIN: no subnormal scale factor


def element_of(t: ir.Type) -> ir.Type:
    return ir.VectorType(t).element_type if isinstance(t, ir.VectorType) else t


def like(t: ir.Type, elt: ir.Type) -> ir.Type:
    """``t``'s shape (scalar or vector, scalable or not) with element type ``elt``."""
    if isinstance(t, ir.VectorType):
        v = ir.VectorType(t)
        return ir.VectorType.get(v.shape, elt, scalable=v.scalable_dims)
    return elt


# Where ``const`` puts vector constants, when set (``constants_before``): one opaque copy each.
_PINNED: contextvars.ContextVar[tuple[ir.InsertionPoint, dict] | None] = contextvars.ContextVar(
    "pinned_constants", default=None
)


@contextlib.contextmanager
def constants_before(op: ir.Operation) -> Iterator[None]:
    """Vector constants made meanwhile go before ``op`` (a loop), each through an empty inline
    asm, which LLVM cannot rematerialize: it keeps them in registers across the loop instead
    of splatting them again from general registers in every iteration, as it did in a fused
    block's SiLU pass (43 instructions per vector; 34 in the same pass of a depthwise
    kernel alone)."""
    token = _PINNED.set((ir.InsertionPoint(op), {}))
    try:
        yield
    finally:
        _PINNED.reset(token)


def _one_register(vt: ir.VectorType) -> bool:
    """Whether ``vt`` is one SIMD register (128 bits, times vscale if scalable), which is what
    an inline asm's ``w`` operand takes: not the f32 vectors of f16 lanes (two registers)."""
    return vt.rank == 1 and vt.shape[0] * element_of(vt).width == 128


def const(t: ir.Type, value: float | int) -> ir.Value:
    """A scalar constant, or a splat of it for a vector type ``t``."""
    elt = element_of(t)
    attr = (
        ir.IntegerAttr.get(elt, int(value))
        if isinstance(elt, ir.IntegerType)
        else ir.FloatAttr.get(elt, value)
    )
    if not isinstance(t, ir.VectorType):
        return arith.constant(t, attr)
    splat = ir.DenseElementsAttr.get_splat(ir.VectorType(t), attr)
    pinned = _PINNED.get()
    if pinned is None or not _one_register(ir.VectorType(t)):
        return arith.constant(t, splat)
    where, made = pinned
    key = (str(t), str(attr))
    if key not in made:
        with where:
            made[key] = llvm.inline_asm(t, [arith.constant(t, splat)], "", "=w,0")
    return made[key]


def _clamp(x: ir.Value, lo: float, hi: float) -> ir.Value:
    """min(max(x, lo), hi), propagating NaN as IEEE maximum/minimum do (like torch)."""
    return arith.minimumf(arith.maximumf(x, const(x.type, lo)), const(x.type, hi))


def exp_poly(x: ir.Value) -> ir.Value:
    """e^x for f32 scalars or vectors: x = n ln2 + r, |r| <= ln2 / 2, e^r by its degree-6
    Taylor polynomial (error below 2 ulp), times 2^n built in the exponent bits."""
    t = x.type
    i32 = like(t, ir.IntegerType.get_signless(32))
    x = arith.minnumf(arith.maxnumf(x, const(t, _EXP_MIN)), const(t, _EXP_MAX))
    n = math.roundeven(arith.mulf(x, const(t, _LOG2E)))
    r = arith.subf(arith.subf(x, arith.mulf(n, const(t, _LN2_HI))), arith.mulf(n, const(t, _LN2_LO)))
    p = const(t, 1.0 / 720)
    for c in (1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0):
        p = arith.addf(arith.mulf(p, r), const(t, c))
    bits = arith.shli(arith.addi(arith.fptosi(i32, n), const(i32, 127)), const(i32, 23))
    return arith.mulf(p, arith.bitcast(t, bits))


def activation(x: ir.Value, act: Activation, exact_exp: bool) -> ir.Value:
    """A float activation of ``x``; silu and hardswish are computed in f32 for f16 inputs."""
    if act.kind == "none":
        return x
    if act.kind == "relu":
        return arith.maximumf(x, const(x.type, 0.0))
    if act.kind == "relu6":
        return _clamp(x, 0.0, 6.0)
    if act.kind == "clamp":
        return _clamp(x, act.lo, act.hi)
    t = x.type
    f32 = like(t, ir.F32Type.get())
    wide = arith.extf(f32, x) if element_of(t) != ir.F32Type.get() else x
    if act.kind == "silu":  # x * sigmoid(x) = x / (1 + e^-x)
        neg = arith.negf(wide)
        e = math.exp(neg) if exact_exp else exp_poly(neg)
        y = arith.divf(wide, arith.addf(const(f32, 1.0), e))
    elif act.kind == "hardswish":  # x * relu6(x + 3) / 6, as torch
        y = arith.mulf(
            arith.mulf(wide, _clamp(arith.addf(wide, const(f32, 3.0)), 0.0, 6.0)), const(f32, 1 / 6)
        )
    else:
        raise ValueError(f"no activation {act.kind}")
    return arith.truncf(t, y) if wide is not x else y


def apply_epilogue(
    acc: ir.Value, epi: Epilogue, bias: ir.Value | None, scale: ir.Value | None, exact_exp: bool = False
) -> ir.Value:
    """``acc`` (the conv's accumulator, scalar or vector) through the epilogue.

    ``bias`` and ``scale`` have ``acc``'s shape (broadcast by the caller). Requantization:
    clamp(roundeven(f32(acc + bias) * scale) + zp, lo, hi), with the clamp done in float
    before rounding (equal, since the bounds are integers) so no conversion overflows.
    """
    x = acc
    is_float = not isinstance(element_of(acc.type), ir.IntegerType)
    if bias is not None:
        x = arith.addf(x, bias) if is_float else arith.addi(x, bias)
    if not epi.requantize:
        return activation(x, epi.activation, exact_exp) if is_float else x
    assert scale is not None
    f32 = like(acc.type, ir.F32Type.get())
    lo, hi = epi.int8_bounds()
    zp = epi.output_zp
    y = arith.mulf(arith.sitofp(f32, x), scale)
    y = arith.minnumf(arith.maxnumf(y, const(f32, lo - zp)), const(f32, hi - zp))  # NaN -> lo - zp
    q = arith.fptosi(like(acc.type, ir.IntegerType.get_signless(32)), math.roundeven(y))
    q = arith.addi(q, const(q.type, zp))
    return arith.trunci(like(acc.type, ir.IntegerType.get_signless(8)), q)


def epilogue_attr(epi: Epilogue, residual: bool | None = None) -> ir.DictAttr:
    """The epilogue as an attribute of the payload's ``linalg.generic``, for the rewrites
    (``residual``: a pointwise epilogue's flag)."""
    f64, i32 = ir.F64Type.get(), ir.IntegerType.get_signless(32)
    act = epi.activation
    fields = {
        "activation": ir.StringAttr.get(act.kind),
        "lo": ir.FloatAttr.get(f64, act.lo),
        "hi": ir.FloatAttr.get(f64, act.hi),
        "bias": ir.BoolAttr.get(epi.bias),
        "requantize": ir.BoolAttr.get(epi.requantize),
        "output_zp": ir.IntegerAttr.get(i32, epi.output_zp),
    }
    if epi.output_scale is not None:
        fields["output_scale"] = ir.FloatAttr.get(f64, epi.output_scale)
    if residual is not None:
        fields["residual"] = ir.BoolAttr.get(residual)
    return ir.DictAttr.get(fields)


def residual_from_attr(attr: ir.Attribute) -> bool:
    """Whether an epilogue attribute (``epilogue_attr``) adds the block's input: a pointwise
    epilogue's flag, or a depthwise epilogue's in a block without a pointwise conv."""
    d = ir.DictAttr(attr)
    return "residual" in d and ir.BoolAttr(d["residual"]).value


def epilogue_from_attr(attr: ir.Attribute) -> Epilogue:
    d = ir.DictAttr(attr)
    scale = ir.FloatAttr(d["output_scale"]).value if "output_scale" in d else None
    return Epilogue(
        bias=ir.BoolAttr(d["bias"]).value,
        activation=Activation(
            ir.StringAttr(d["activation"]).value, ir.FloatAttr(d["lo"]).value, ir.FloatAttr(d["hi"]).value
        ),
        requantize=ir.BoolAttr(d["requantize"]).value,
        output_zp=ir.IntegerAttr(d["output_zp"]).value,
        output_scale=scale,
    )
