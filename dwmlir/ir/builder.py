"""Build the linalg payload for a spec with the MLIR Python bindings.

The kernel takes three memrefs in the op's own layouts (which lower to three bare pointers),
works on tensors inside (so tiling and decomposition have value semantics), pads the input
with ``tensor.pad`` when the spec asks for padding, zero-fills the output and writes the
result into the output buffer in place.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, bufferization, func, linalg, tensor

from ..errors import UserError
from ..spec import ConvSpec


def element_type(dtype: str) -> ir.Type:
    """MLIR element type for a dwmlir dtype name (call inside a Context)."""
    if dtype == "f32":
        return ir.F32Type.get()
    if dtype == "f16":
        return ir.F16Type.get()
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
    result_type = ir.RankedTensorType.get(list(spec.padded_input_shape), elt)
    pad = tensor.PadOp(result_type, value, [], [], low, high)
    block = pad.regions[0].blocks.append(*([ir.IndexType.get()] * len(low)))
    with ir.InsertionPoint(block):
        tensor.YieldOp(pad_value if pad_value is not None else zero_constant(elt))
    return pad.result


def _check_i64(spec: ConvSpec) -> None:
    """Strides, dilations and padded sizes become 64-bit attributes and index arithmetic."""
    for what, values in (
        ("strides", spec.strides),
        ("dilations", spec.dilations),
        ("padded input sizes", spec.padded_spatial),
    ):
        if max(values) >= 2**63:
            raise UserError(
                f"{what} {','.join(map(str, values))} do not fit in 64 bits (>= 2^63): use smaller values"
            )


def build_kernel_module(spec: ConvSpec) -> ir.Module:
    """Return a module with ``func.func @<spec.name>`` in the C ABI's argument order.

    ``(input, filter, output)``, or ``(input, filter, input_zp, filter_zp, output)`` for the
    quantized ops (call inside a Context).
    """
    _check_i64(spec)
    loc = ir.Location.name(f"dwmlir.{spec.name}")
    with loc:
        module = ir.Module.create()
        elt, out_elt = element_type(spec.dtype), element_type(spec.out_dtype)
        i32 = ir.IntegerType.get_signless(32)
        in_t = ir.MemRefType.get(list(spec.input_shape), elt)
        flt_t = ir.MemRefType.get(list(spec.filter_shape), elt)
        out_t = ir.MemRefType.get(list(spec.output_shape), out_elt)
        q = spec.info.quantized
        arg_types = [in_t, flt_t, *([i32, i32] if q else []), out_t]
        noalias = ir.DictAttr.get({"llvm.noalias": ir.UnitAttr.get()})
        with ir.InsertionPoint(module.body):
            fn = func.FuncOp(spec.name, ir.FunctionType.get(arg_types, []))
            fn.arg_attrs = ir.ArrayAttr.get(
                [ir.DictAttr.get({}) if isinstance(t, ir.IntegerType) else noalias for t in arg_types]
            )
            block = fn.add_entry_block()
            with ir.InsertionPoint(block):
                args = list(block.arguments)
                a, b, c = args[0], args[1], args[-1]
                zps = args[2:4] if q else []
                ta = bufferization.to_tensor(
                    ir.RankedTensorType.get(list(spec.input_shape), elt), a, restrict=True
                )
                tb = bufferization.to_tensor(
                    ir.RankedTensorType.get(list(spec.filter_shape), elt), b, restrict=True
                )
                pad_value = arith.trunci(elt, zps[0]) if q and spec.has_padding else None
                ta = pad_input(spec, ta, elt, pad_value)
                empty = tensor.empty(list(spec.output_shape), out_elt)
                zero = linalg.fill(zero_constant(out_elt), outs=[empty])
                conv = getattr(linalg, spec.op)(
                    ta, tb, *zps, outs=[zero], strides=list(spec.strides), dilations=list(spec.dilations)
                )
                bufferization.materialize_in_destination(None, conv, c, restrict=True, writable=True)
                func.ReturnOp([])
    return module
