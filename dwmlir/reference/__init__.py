"""An independent numpy reference: direct loops over filter taps, no MLIR involved."""

from .block_ref import block_reference, compare_block, random_block_operands
from .numpy_ref import compare, depthwise_reference, random_operands

__all__ = [
    "block_reference",
    "compare",
    "compare_block",
    "depthwise_reference",
    "random_block_operands",
    "random_operands",
]
