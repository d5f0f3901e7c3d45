"""The JIT path: a driver module around the lowered kernel, run by mlir-runner.

The driver holds the operands as constants, poisons an output buffer, calls the kernel
through bare pointers and prints the output's bit patterns as i32 so that the comparison
with the reference is exact (printMemrefF32 would round to 6 digits).
"""

from __future__ import annotations

import math
import re

import numpy as np
from mlir import ir

from ..errors import InternalError
from ..ir import element_type
from ..pipeline import run_bundle
from ..spec import ConvSpec

DRIVER_ENTRY = "main"
_DRIVER_PIPELINE = (
    "convert-linalg-to-loops,convert-scf-to-cf,expand-strided-metadata,lower-affine,"
    "finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
    "convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts"
)


def _memref(shape: tuple[int, ...], elt: str) -> str:
    return f"memref<{'x'.join(map(str, shape))}x{elt}>"


def _driver_text(spec: ConvSpec) -> str:
    elt, out_elt = str(element_type(spec.dtype)), str(element_type(spec.out_dtype))
    bits = spec.out_bits
    in_t, flt_t = _memref(spec.input_shape, elt), _memref(spec.filter_shape, elt)
    out_t, bits_t = _memref(spec.output_shape, out_elt), _memref(spec.output_shape, f"i{bits}")
    nbytes = math.prod(spec.output_shape) * bits // 8
    q = spec.info.quantized
    zp_types = "i32, i32, " if q else ""
    zp_args = "%zx, %zw, " if q else ""
    return f"""
memref.global "private" constant @dwmlir_input : {in_t} = uninitialized
memref.global "private" constant @dwmlir_filter : {flt_t} = uninitialized
func.func private @printMemrefI{bits}(memref<*xi{bits}>) attributes {{llvm.emit_c_interface}}
func.func private @{spec.name}(!llvm.ptr, !llvm.ptr, {zp_types}!llvm.ptr)
func.func @{DRIVER_ENTRY}() {{
  %c0 = arith.constant 0 : index
  %zx = arith.constant {spec.input_zp} : i32
  %zw = arith.constant {spec.filter_zp} : i32
  %poison = arith.constant 127 : i8
  %in = memref.get_global @dwmlir_input : {in_t}
  %flt = memref.get_global @dwmlir_filter : {flt_t}
  %raw = memref.alloc() {{alignment = 64 : i64}} : memref<{nbytes}xi8>
  linalg.fill ins(%poison : i8) outs(%raw : memref<{nbytes}xi8>)
  %out = memref.view %raw[%c0][] : memref<{nbytes}xi8> to {out_t}
  %bits = memref.view %raw[%c0][] : memref<{nbytes}xi8> to {bits_t}
  %p0 = memref.extract_aligned_pointer_as_index %in : {in_t} -> index
  %p1 = memref.extract_aligned_pointer_as_index %flt : {flt_t} -> index
  %p2 = memref.extract_aligned_pointer_as_index %out : {out_t} -> index
  %i0 = arith.index_cast %p0 : index to i64
  %i1 = arith.index_cast %p1 : index to i64
  %i2 = arith.index_cast %p2 : index to i64
  %a0 = llvm.inttoptr %i0 : i64 to !llvm.ptr
  %a1 = llvm.inttoptr %i1 : i64 to !llvm.ptr
  %a2 = llvm.inttoptr %i2 : i64 to !llvm.ptr
  call @{spec.name}(%a0, %a1, {zp_args}%a2) : (!llvm.ptr, !llvm.ptr, {zp_types}!llvm.ptr) -> ()
  %u = memref.cast %bits : {bits_t} to memref<*xi{bits}>
  call @printMemrefI{bits}(%u) : (memref<*xi{bits}>) -> ()
  memref.dealloc %raw : memref<{nbytes}xi8>
  return
}}
"""


def build_jit_module(spec: ConvSpec, kernel_llvm: str, inp: np.ndarray, flt: np.ndarray) -> str:
    """Return LLVM-dialect MLIR text: driver + kernel, ready for ``mlir-runner -e main``."""
    with ir.Context(), ir.Location.unknown():
        driver = ir.Module.parse(_driver_text(spec))
        for op in driver.body.operations:
            if op.operation.name == "memref.global":
                data = inp if op.operation.attributes["sym_name"].value == "dwmlir_input" else flt
                op.operation.attributes["initial_value"] = ir.DenseElementsAttr.get(
                    np.ascontiguousarray(data), type=element_type(spec.dtype)
                )
        run_bundle(driver, _DRIVER_PIPELINE)
        kernel = ir.Module.parse(kernel_llvm)
        for op in list(driver.body.operations):
            if op.operation.name == "llvm.func" and op.operation.attributes["sym_name"].value == spec.name:
                op.operation.erase()
        for op in list(kernel.body.operations):
            driver.body.append(op.operation.detach_from_parent())
        driver.operation.verify()
        return str(driver)


_DATA = re.compile(r"data\s*=\s*(.*)", re.S)


def parse_printed(spec: ConvSpec, stdout: str) -> np.ndarray:
    """Turn printMemrefI{32} output back into the kernel's output array."""
    m = _DATA.search(stdout)
    if not m:
        raise InternalError(f"mlir-runner printed no memref: {stdout[:200]!r}")
    values = [int(v) for v in re.findall(r"-?\d+", m.group(1))]
    if len(values) != math.prod(spec.output_shape):
        raise InternalError(
            f"mlir-runner printed {len(values)} values, expected {math.prod(spec.output_shape)}"
        )
    bits = np.array(values, dtype=np.int64).astype(np.int32 if spec.out_bits == 32 else np.int16)
    return bits.view(spec.out_np_dtype).reshape(spec.output_shape)
