"""Stage 1: what to compute. Specs are validated here and nowhere else."""

from .conv import DTYPES, MAX_ELEMENTS, ConvSpec, parse_int_list, parse_shape
from .ops import OPS, SUPPORTED_OPS, OpInfo

__all__ = [
    "DTYPES",
    "MAX_ELEMENTS",
    "OPS",
    "SUPPORTED_OPS",
    "ConvSpec",
    "OpInfo",
    "parse_int_list",
    "parse_shape",
]
