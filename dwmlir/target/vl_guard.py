"""The entry check of vector-length-specific kernels.

A VLS kernel is compiled with ``vscale_range(n, n)``: LLVM folds every ``vscale`` to ``n``,
so on a CPU with another vector length it would silently compute garbage. The guard reads
the real VL with ``cntb`` (inline assembly, which LLVM cannot fold), and on a mismatch
writes one line to stderr and calls ``abort()`` (both from libc).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, func, llvm, scf

from .targets import Target


def _c_string(text: str) -> str:
    escaped = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else f"\\{ord(ch):02X}" for ch in text)
    return f'"{escaped}"'


def add_vl_guard(module: ir.Module, target: Target, kernel: str) -> None:
    """Insert the check at the entry of ``func.func @kernel`` (no-op for other targets)."""
    bits = target.fixed_vl_bits
    if bits is None:
        return
    message = (
        f"dwmlir: kernel {kernel} was built for {bits}-bit SVE vectors (--target {target.name}) "
        "but runs at another vector length; rebuild with --target aarch64-sve or the matching "
        "aarch64-sve-vlsN\n"
    )
    fail = f"__dwmlir_vl_mismatch_{kernel}"
    text = f"""
llvm.mlir.global private constant @{fail}_msg({_c_string(message)}) {{addr_space = 0 : i32}}
llvm.func @write(i32, !llvm.ptr, i64) -> i64
llvm.func @abort()
func.func private @{fail}() attributes {{llvm.linkage = #llvm.linkage<internal>}} {{
  %fd = llvm.mlir.constant(2 : i32) : i32
  %len = llvm.mlir.constant({len(message)} : i64) : i64
  %msg = llvm.mlir.addressof @{fail}_msg : !llvm.ptr
  %0 = llvm.call @write(%fd, %msg, %len) : (i32, !llvm.ptr, i64) -> i64
  llvm.call @abort() : () -> ()
  return
}}
"""
    helpers = ir.Module.parse(text)
    existing = {
        op.attributes["sym_name"].value for op in module.body.operations if "sym_name" in op.attributes
    }
    for op in list(helpers.body.operations):
        if op.attributes["sym_name"].value not in existing:
            module.body.append(op.detach_from_parent())
    for op in module.body.operations:
        if op.operation.name == "func.func" and op.attributes["sym_name"].value == kernel:
            entry = op.regions[0].blocks[0]
            with ir.InsertionPoint.at_block_begin(entry), ir.Location.name("dwmlir.vl_guard"):
                i64 = ir.IntegerType.get_signless(64)
                vl_bytes = llvm.inline_asm(i64, [], "cntb $0", "=r", has_side_effects=True)
                mismatch = arith.cmpi(arith.CmpIPredicate.ne, vl_bytes, arith.constant(i64, bits // 8))
                branch = scf.IfOp(mismatch)
                with ir.InsertionPoint(branch.then_block):
                    func.call([], fail, [])
                    scf.YieldOp([])
            return
    raise ValueError(f"no func.func @{kernel} in module")
