"""Stage 6: run compiled kernels (qemu or native; AOT or JIT) and check them."""

from .harness import render_harness
from .runner import (
    MODES,
    VALID_VECTOR_BITS,
    RunResult,
    check_vector_bits,
    default_vector_bits,
    parse_vector_bits,
    run_on_data,
    run_spec,
    target_vector_bits,
)

__all__ = [
    "MODES",
    "VALID_VECTOR_BITS",
    "RunResult",
    "check_vector_bits",
    "default_vector_bits",
    "parse_vector_bits",
    "target_vector_bits",
    "render_harness",
    "run_on_data",
    "run_spec",
]
