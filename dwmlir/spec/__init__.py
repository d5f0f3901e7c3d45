"""Stage 1: what to compute. Specs are validated here and nowhere else."""

from .block import (
    ACTIVATIONS,
    Activation,
    BlockSpec,
    Epilogue,
    KernelArg,
    Pointwise,
    as_block,
    block_from_options,
)
from .conv import (
    DTYPES,
    MAX_ELEMENTS,
    SUPPORTED_DTYPES,
    ConvSpec,
    parse_int_list,
    parse_padding,
    parse_shape,
    same_padding,
)
from .ops import OPS, SUPPORTED_OPS, OpInfo

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "BlockSpec",
    "Epilogue",
    "KernelArg",
    "Pointwise",
    "as_block",
    "block_from_options",
    "DTYPES",
    "MAX_ELEMENTS",
    "OPS",
    "SUPPORTED_OPS",
    "ConvSpec",
    "OpInfo",
    "SUPPORTED_DTYPES",
    "parse_int_list",
    "parse_padding",
    "same_padding",
    "parse_shape",
]
