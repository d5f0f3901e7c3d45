"""Stage 2: spec -> linalg IR (MLIR Python bindings)."""

from .builder import build_kernel_module, element_type
from .walk import find_ops

__all__ = ["build_kernel_module", "element_type", "find_ops"]
