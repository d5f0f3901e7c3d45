"""Drive one spec through every stage and collect the artefacts in memory.

spec -> linalg IR -> 1-D row decomposition -> schedule -> pass bundles -> LLVM dialect
-> .ll -> .s/.o + header.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mlir import ir

from .. import __version__
from ..errors import InternalError
from ..ir import build_kernel_module
from ..pipeline import bundles, run_bundle, set_vscale_range
from ..rewrite import VectorShape, rewrite_depthwise
from ..schedule import apply_schedule, build_schedule
from ..spec import ConvSpec
from ..target import Target
from ..toolchain import llvm_tool, run
from .header import render_header


@dataclass
class Artefacts:
    """Every stage's text plus the object file, keyed by file suffix."""

    spec: ConvSpec
    target: Target
    files: dict[str, bytes] = field(default_factory=dict)

    def text(self, suffix: str) -> str:
        return self.files[suffix].decode()


def _check_vectorized(module: ir.Module, spec: ConvSpec) -> None:
    """Scalar fallback is a bug: no linalg op may survive the schedule."""
    leftovers: list[str] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name.startswith("linalg."):
            leftovers.append(op.name)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    if leftovers:
        raise InternalError(
            f"schedule left {', '.join(sorted(set(leftovers)))} unvectorized for {spec.describe()}"
        )


def lower_to_llvm_dialect(spec: ConvSpec, target: Target) -> tuple[str, str, str, str]:
    """Return (input linalg, schedule, vectorized, LLVM-dialect) MLIR texts."""
    with ir.Context(), ir.Location.unknown():
        module = build_kernel_module(spec)
        input_text = str(module)
        rows = rewrite_depthwise(module, VectorShape(target.vector_bits, target.scalable))
        schedule = build_schedule(rows, spec.output_shape, spec.out_bits, target)
        schedule_text = str(schedule)
        apply_schedule(module, schedule)
        _check_vectorized(module, spec)
        run_bundle(module, "canonicalize,cse")
        vector_text = str(module)
        for fragment in bundles(target).values():
            run_bundle(module, fragment)
        set_vscale_range(module, target)
        module.operation.verify()
        return input_text, schedule_text, vector_text, str(module)


def compile_spec(spec: ConvSpec, target: Target) -> Artefacts:
    """Compile ``spec`` for ``target``; raises UserError/ToolError/InternalError."""
    art = Artefacts(spec, target)
    input_text, schedule_text, vector_text, llvm_text = lower_to_llvm_dialect(spec, target)
    art.files[".mlir"] = input_text.encode()
    art.files[".schedule.mlir"] = schedule_text.encode()
    art.files[".vector.mlir"] = vector_text.encode()
    art.files[".llvm.mlir"] = llvm_text.encode()
    translate, llc = llvm_tool("mlir-translate"), llvm_tool("llc")
    ll = run([translate, "--mlir-to-llvmir", "-"], input=llvm_text.encode(), what="mlir-translate").stdout
    art.files[".ll"] = ll
    llc_args = [llc, "-O3", f"-mtriple={target.triple}", f"-mattr={target.mattr}"]
    art.files[".s"] = run([*llc_args, "-filetype=asm", "-", "-o", "-"], input=ll, what="llc").stdout
    with tempfile.TemporaryDirectory(prefix="dwmlir-llc-") as tmp:
        obj = Path(tmp) / f"{spec.name}.o"
        run([*llc_args, "-filetype=obj", "-", "-o", obj], input=ll, what="llc")
        art.files[".o"] = obj.read_bytes()
    art.files[".h"] = render_header(spec, target, __version__).encode()
    return art
