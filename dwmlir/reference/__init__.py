"""An independent numpy reference: direct loops over filter taps, no MLIR involved."""

from .numpy_ref import compare, depthwise_reference, random_operands

__all__ = ["compare", "depthwise_reference", "random_operands"]
