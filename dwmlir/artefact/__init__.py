"""Stage 5: artefacts (every stage's IR, assembly, object and C header), written atomically."""

from .compile import (
    Artefacts,
    artefact_filename,
    check_cpu,
    compile_spec,
    kernel_backend_flags,
    lower_to_llvm_dialect,
)
from .header import c_prototype, kernel_block, render_header
from .writer import DEFAULT_EMIT, EMIT_KINDS, parse_emit, write_artefacts, write_files, write_output

__all__ = [
    "DEFAULT_EMIT",
    "EMIT_KINDS",
    "Artefacts",
    "artefact_filename",
    "check_cpu",
    "parse_emit",
    "c_prototype",
    "compile_spec",
    "kernel_backend_flags",
    "kernel_block",
    "lower_to_llvm_dialect",
    "render_header",
    "write_artefacts",
    "write_files",
    "write_output",
]
