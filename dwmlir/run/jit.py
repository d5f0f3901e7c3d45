"""The JIT path: a driver module around the lowered kernel, run by mlir-runner.

The driver holds the operands as constants, poisons an output buffer, calls the kernel
through bare pointers and prints the output's bytes as i32 words so that the comparison
with the reference is exact (printMemrefF32 would round to 6 digits, printMemrefI8 prints
characters).

At several SVE vector lengths the driver runs them all in one process, as upstream's ArmSVE
tests do: ``main`` sets each length with ``setArmVLBits`` (libmlir_arm_runner_utils) and
calls ``dwmlir_run``, which prints the ``vscale`` it runs at before the output. It is kept
out of line: LLVM takes ``vscale`` as constant within a function, so a kernel inlined into
``main`` would run every call at the first length. The JIT compiles the module once, not
once per length (under qemu that compile is most of a JIT run's time).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
from mlir import ir

from ..errors import InternalError
from ..ir import element_type
from ..pipeline import run_bundle
from ..spec import BlockSpec, ConvSpec, as_block

DRIVER_ENTRY = "main"
RUN_FUNC = "dwmlir_run"  # one call of the kernel, its output printed (``_driver_text``)
_DRIVER_PIPELINE = (
    "convert-linalg-to-loops,convert-scf-to-cf,expand-strided-metadata,lower-affine,"
    "convert-vector-to-llvm,finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
    "convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts"
)


def _memref(shape: tuple[int, ...], elt: str) -> str:
    return f"memref<{'x'.join(map(str, shape))}x{elt}>"


def _driver_text(block: BlockSpec, vector_bits: Sequence[int] = ()) -> str:
    out_t = _memref(block.output_shape, str(element_type(block.out_dtype)))
    nbytes = _out_bytes(block)
    words = -(-nbytes // 4)
    bits_t = f"memref<{words}xi32>"
    inputs = block.inputs
    globals_ = [
        f'memref.global "private" constant @dwmlir_{a.name} : '
        f"{_memref(a.shape, str(element_type(a.dtype)))} = uninitialized"
        for a in inputs
    ]
    body, ptrs = [], {}
    for a in inputs:
        t = _memref(a.shape, str(element_type(a.dtype)))
        body += [
            f"  %g_{a.name} = memref.get_global @dwmlir_{a.name} : {t}",
            f"  %x_{a.name} = memref.extract_aligned_pointer_as_index %g_{a.name} : {t} -> index",
            f"  %i_{a.name} = arith.index_cast %x_{a.name} : index to i64",
            f"  %p_{a.name} = llvm.inttoptr %i_{a.name} : i64 to !llvm.ptr",
        ]
        ptrs[a.name] = f"%p_{a.name}"
    ptrs.update(input_zp="%zx", filter_zp="%zw", output="%p_output")
    types = ", ".join("!llvm.ptr" if a.is_buffer else "i32" for a in block.args)
    call_args = ", ".join(ptrs[a.name] for a in block.args)
    conv = block.conv
    nl = "\n"
    # Per length: set it, then run (``dwmlir_run`` prints the vscale it sees first).
    lengths = [
        f"  %vl{i} = arith.constant {b} : i32\n  call @setArmVLBits(%vl{i}) : (i32) -> ()\n"
        f"  call @{RUN_FUNC}() : () -> ()"
        for i, b in enumerate(vector_bits)
    ]
    vscale = (
        "  %vs = vector.vscale\n  %vs64 = arith.index_cast %vs : index to i64\n"
        "  call @printI64(%vs64) : (i64) -> ()\n  call @printNewline() : () -> ()\n"
    )
    setters = (
        "func.func private @printI64(i64)\nfunc.func private @printNewline()\n"
        "func.func private @setArmVLBits(i32)\n"
    )
    return f"""
{nl.join(globals_)}
func.func private @printMemrefI32(memref<*xi32>) attributes {{llvm.emit_c_interface}}
{setters if lengths else ""}func.func private @{block.name}({types})
func.func @{DRIVER_ENTRY}() {{
{nl.join(lengths) if lengths else f"  call @{RUN_FUNC}() : () -> ()"}
  return
}}
func.func @{RUN_FUNC}() {{
{vscale if lengths else ""}  %c0 = arith.constant 0 : index
  %zx = arith.constant {conv.input_zp} : i32
  %zw = arith.constant {conv.filter_zp} : i32
  %poison = arith.constant 127 : i8
{nl.join(body)}
  %raw = memref.alloc() {{alignment = 64 : i64}} : memref<{4 * words}xi8>
  linalg.fill ins(%poison : i8) outs(%raw : memref<{4 * words}xi8>)
  %out = memref.view %raw[%c0][] : memref<{4 * words}xi8> to {out_t}
  %bits = memref.view %raw[%c0][] : memref<{4 * words}xi8> to {bits_t}
  %x_output = memref.extract_aligned_pointer_as_index %out : {out_t} -> index
  %i_output = arith.index_cast %x_output : index to i64
  %p_output = llvm.inttoptr %i_output : i64 to !llvm.ptr
  call @{block.name}({call_args}) : ({types}) -> ()
  %u = memref.cast %bits : {bits_t} to memref<*xi32>
  call @printMemrefI32(%u) : (memref<*xi32>) -> ()
  memref.dealloc %raw : memref<{4 * words}xi8>
  return
}}
"""


def build_jit_module(
    spec: ConvSpec | BlockSpec, kernel_llvm: str, *operands: np.ndarray, vector_bits: Sequence[int] = ()
) -> str:
    """Return LLVM-dialect MLIR text: driver + kernel, ready for ``mlir-runner -e main``.

    ``operands``: the kernel's input buffers in ABI order (input, filter, [bias, scale]).
    ``vector_bits``: the SVE lengths to run at, in one process (``parse_printed_runs``);
    none: one run at the process's length (``parse_printed``).
    """
    block = as_block(spec)
    data = {a.name: (a, arr) for a, arr in zip(block.inputs, operands, strict=True)}
    with ir.Context(), ir.Location.unknown():
        driver = ir.Module.parse(_driver_text(block, vector_bits))
        for op in driver.body.operations:
            if op.operation.name == "memref.global":
                arg, arr = data[op.operation.attributes["sym_name"].value.removeprefix("dwmlir_")]
                op.operation.attributes["initial_value"] = ir.DenseElementsAttr.get(
                    np.ascontiguousarray(arr), type=element_type(arg.dtype)
                )
        run_bundle(driver, _DRIVER_PIPELINE)
        kernel = ir.Module.parse(kernel_llvm)
        for op in list(driver.body.operations):
            if op.operation.name != "llvm.func":
                continue
            name = op.operation.attributes["sym_name"].value
            if name == block.name:
                op.operation.erase()
            elif name == RUN_FUNC:
                op.operation.attributes["no_inline"] = ir.UnitAttr.get()
        for op in list(kernel.body.operations):
            driver.body.append(op.operation.detach_from_parent())
        driver.operation.verify()
        return str(driver)


_DATA = re.compile(r"data\s*=\s*(.*)", re.S)
_RUNS = re.compile(r"^(\d+)\s*$(.*?)(?=^\d+\s*$|\Z)", re.S | re.M)


def parse_printed_runs(
    spec: ConvSpec | BlockSpec, stdout: str, vector_bits: Sequence[int]
) -> list[np.ndarray]:
    """The outputs of a driver built with ``vector_bits``, one per length, each checked to
    have run at its length (the vscale printed before it)."""
    runs = _RUNS.findall(stdout)
    if len(runs) != len(vector_bits):
        raise InternalError(
            f"mlir-runner printed {len(runs)} runs, expected {len(vector_bits)}: {stdout[:200]!r}"
        )
    outs = []
    for (vscale, text), bits in zip(runs, vector_bits, strict=True):
        if int(vscale) * 128 != bits:
            raise InternalError(
                f"the JIT run meant for {bits} bits ran at {int(vscale) * 128} (setArmVLBits)"
            )
        outs.append(parse_printed(spec, text))
    return outs


def parse_printed(spec: ConvSpec | BlockSpec, stdout: str) -> np.ndarray:
    """Turn the printed words (the output's bytes, as i32) back into the output array."""
    block = as_block(spec)
    m = _DATA.search(stdout)
    if not m:
        raise InternalError(f"mlir-runner printed no memref: {stdout[:200]!r}")
    values = [int(v) for v in re.findall(r"-?\d+", m.group(1))]
    nbytes = _out_bytes(block)
    if len(values) != -(-nbytes // 4):
        raise InternalError(f"mlir-runner printed {len(values)} words, expected {-(-nbytes // 4)}")
    raw = np.array(values, dtype=np.int64).astype(np.int32).view(np.uint8)[:nbytes]
    return raw.view(block.out_np_dtype).reshape(block.output_shape)


def _out_bytes(block: BlockSpec) -> int:
    return math.prod(block.output_shape) * block.out_bits // 8
