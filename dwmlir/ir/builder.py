"""Build the linalg payload for a spec with the MLIR Python bindings.

The kernel takes three memrefs in the op's own layouts (which lower to three bare pointers),
works on tensors inside (so tiling and decomposition have value semantics), zero-fills the
output and writes the result into the output buffer in place.
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
                empty = tensor.empty(list(spec.output_shape), elt)
                zero = linalg.fill(_zero(elt), outs=[empty])
                conv = getattr(linalg, spec.op)(
                    ta, tb, outs=[zero], strides=list(spec.strides), dilations=list(spec.dilations)
                )
                bufferization.materialize_in_destination(None, conv, c, restrict=True, writable=True)
                func.ReturnOp([])
    return module
