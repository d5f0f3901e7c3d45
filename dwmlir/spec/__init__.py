"""Stage 1: what to compute. Specs are validated here and nowhere else."""

from .block import (
    ACTIVATIONS,
    Activation,
    BlockSpec,
    Epilogue,
    Expand,
    KernelArg,
    Pointwise,
    as_block,
    block_from_options,
    expand_conv_input,
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
from .names import MAX_NAME_LENGTH, check_name, name_problem
from .ops import LAYOUTS, OPS, SUPPORTED_OPS, OpInfo, infer_op

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "BlockSpec",
    "Epilogue",
    "Expand",
    "KernelArg",
    "Pointwise",
    "as_block",
    "block_from_options",
    "expand_conv_input",
    "DTYPES",
    "LAYOUTS",
    "MAX_ELEMENTS",
    "MAX_NAME_LENGTH",
    "OPS",
    "SUPPORTED_OPS",
    "ConvSpec",
    "OpInfo",
    "SUPPORTED_DTYPES",
    "check_name",
    "name_problem",
    "parse_int_list",
    "parse_padding",
    "same_padding",
    "parse_shape",
    "infer_op",
]
