"""Differential fuzzing: random valid specs through the whole flow, checked against numpy."""

from .driver import Failure, FuzzCase, FuzzReport, check_case, fuzz, fuzz_cases, spec_to_cli
from .strategies import block_parts, block_specs, conv_specs, epilogues, op_dtype_pairs, vector_lengths

__all__ = [
    "Failure",
    "FuzzCase",
    "FuzzReport",
    "check_case",
    "block_parts",
    "block_specs",
    "conv_specs",
    "epilogues",
    "fuzz",
    "fuzz_cases",
    "op_dtype_pairs",
    "spec_to_cli",
    "vector_lengths",
]
