"""Stage 5: artefacts (every stage's IR, assembly, object and C header), written atomically."""

from .compile import Artefacts, compile_spec, lower_to_llvm_dialect
from .header import c_prototype, render_header
from .writer import DEFAULT_EMIT, write_artefacts

__all__ = [
    "DEFAULT_EMIT",
    "Artefacts",
    "c_prototype",
    "compile_spec",
    "lower_to_llvm_dialect",
    "render_header",
    "write_artefacts",
]
