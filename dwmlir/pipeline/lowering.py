"""Named pass bundles, driven by ``PassManager``, from vectorized linalg to the LLVM dialect.

Each bundle is a textual pipeline fragment so that users can paste it into ``mlir-opt
--pass-pipeline=...`` to reproduce a stage.
"""

from __future__ import annotations

import os

from mlir import ir
from mlir.passmanager import PassManager

from ..target import Target

# Per function, so that MLIR's thread pool runs a kernel and its NAME_part side by side.
CLEANUP = "func.func(canonicalize,cse)"

# tensor.empty feeding materialize_in_destination becomes a slice of the output buffer, so
# the kernel writes its result in place: no allocation, no memref.copy, no runtime calls.
BUFFERIZE = "eliminate-empty-tensors,one-shot-bufferize,func.func(cse,canonicalize)"


def lower_vector(target: Target) -> str:
    """Masks first (convert-vector-to-scf cannot handle vector.mask), then unroll n-D
    transfers to 1-D loads/stores instead of staging them through stack buffers."""
    legalize = ",arm-sve-legalize-vector-storage" if target.scalable else ""
    return (
        "func.func(lower-vector-mask,canonicalize,cse,"
        f"convert-vector-to-scf{{full-unroll=1 lower-tensors=0}}{legalize},canonicalize,cse)"
    )


def to_llvm(target: Target, bare_pointers: bool = True) -> str:
    """To the LLVM dialect; kernels take bare pointers (our C ABI), user modules descriptors.
    Only finalize-memref-to-llvm and the func and cf conversions need the whole module."""
    vec = "convert-vector-to-llvm{enable-arm-sve=1}" if target.scalable else "convert-vector-to-llvm"
    return (
        f"func.func(convert-scf-to-cf,{vec},expand-strided-metadata,lower-affine),"
        "finalize-memref-to-llvm,"
        "func.func(convert-math-to-llvm,convert-arith-to-llvm,convert-index-to-llvm),"
        f"convert-func-to-llvm{{use-bare-ptr-memref-call-conv={int(bare_pointers)}}},"
        "llvm.func(convert-ub-to-llvm),convert-cf-to-llvm,"
        "llvm.func(reconcile-unrealized-casts,canonicalize,cse)"
    )


def bundles(target: Target) -> dict[str, str]:
    """The stages after the transform schedule, in order."""
    return {
        "bufferize": BUFFERIZE,
        "lower-vector": lower_vector(target),
        "to-llvm": to_llvm(target),
    }


def full_pipeline(target: Target) -> str:
    return "builtin.module(" + ",".join(bundles(target).values()) + ")"


# Verify the IR after every pass, like mlir-opt's --verify-each (the lit suite sets it). Off
# by default: it took 0.14 of 0.37 s of passes on a large kernel, and the callers verify
# once at the end.
VERIFY_EACH_ENV = "DWMLIR_VERIFY_EACH"


def verify_each() -> bool:
    return os.environ.get(VERIFY_EACH_ENV, "").strip() not in ("", "0")


def run_bundle(module: ir.Module, fragment: str) -> None:
    pm = PassManager.parse(f"builtin.module({fragment})")
    pm.enable_verifier(verify_each())
    pm.run(module.operation)


def set_vscale_range(module: ir.Module, target: Target) -> None:
    """Tell LLVM the vector-length range so it can fold vscale arithmetic."""
    if not (target.scalable and target.vscale_range):
        return
    lo, hi = target.vscale_range
    attr = ir.Attribute.parse(f"#llvm.vscale_range<minRange = {lo}, maxRange = {hi}>")
    for op in module.body.operations:
        if op.operation.name == "llvm.func" and len(op.regions[0].blocks) > 0:
            op.operation.attributes["vscale_range"] = attr
