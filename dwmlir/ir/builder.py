"""Build the linalg payload for a spec with the MLIR Python bindings.

The kernel takes three memrefs in the op's own layouts (which lower to three bare pointers),
works on tensors inside (so tiling and decomposition have value semantics), pads the input
with ``tensor.pad`` when the spec asks for padding, zero-fills the output and writes the
result into the output buffer in place.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, bufferization, func, linalg, tensor

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


def _zero(elt: ir.Type) -> ir.Value:
    if isinstance(elt, ir.IntegerType):
        return arith.constant(elt, 0)
    return arith.constant(elt, 0.0)


def pad_input(spec: ConvSpec, value: ir.Value, elt: ir.Type) -> ir.Value:
    """``tensor.pad`` of the input by the spec's padding with zeros (a no-op without padding)."""
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
        tensor.YieldOp(_zero(elt))
    return pad.result


def build_kernel_module(spec: ConvSpec) -> ir.Module:
    """Return a module with ``func.func @<spec.name>(input, filter, output)`` (call in a Context)."""
    loc = ir.Location.name(f"dwmlir.{spec.name}")
    with loc:
        module = ir.Module.create()
        elt = element_type(spec.dtype)
        shapes = (spec.input_shape, spec.filter_shape, spec.output_shape)
        in_t, flt_t, out_t = (ir.MemRefType.get(list(s), elt) for s in shapes)
        with ir.InsertionPoint(module.body):
            fn = func.FuncOp(spec.name, ir.FunctionType.get([in_t, flt_t, out_t], []))
            fn.arg_attrs = ir.ArrayAttr.get(
                [ir.DictAttr.get({"llvm.noalias": ir.UnitAttr.get()}) for _ in range(3)]
            )
            block = fn.add_entry_block()
            with ir.InsertionPoint(block):
                a, b, c = block.arguments
                ta = bufferization.to_tensor(
                    ir.RankedTensorType.get(list(spec.input_shape), elt), a, restrict=True
                )
                tb = bufferization.to_tensor(
                    ir.RankedTensorType.get(list(spec.filter_shape), elt), b, restrict=True
                )
                ta = pad_input(spec, ta, elt)
                empty = tensor.empty(list(spec.output_shape), elt)
                zero = linalg.fill(_zero(elt), outs=[empty])
                conv = getattr(linalg, spec.op)(
                    ta, tb, outs=[zero], strides=list(spec.strides), dilations=list(spec.dilations)
                )
                bufferization.materialize_in_destination(None, conv, c, restrict=True, writable=True)
                func.ReturnOp([])
    return module
