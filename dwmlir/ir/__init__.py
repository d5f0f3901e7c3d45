"""Stage 2: spec -> linalg IR (MLIR Python bindings)."""

from .builder import build_kernel_module, element_type

__all__ = ["build_kernel_module", "element_type"]
