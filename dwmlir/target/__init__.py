"""Stage 4a: target descriptions (triple, features, vector-length assumption) and the VLS guard."""

from .targets import DEFAULT_TARGET, SVE_VECTOR_BITS, TARGETS, Target, for_dtype, get_target, host_targets
from .vl_guard import add_vl_guard

__all__ = [
    "DEFAULT_TARGET",
    "SVE_VECTOR_BITS",
    "TARGETS",
    "Target",
    "add_vl_guard",
    "for_dtype",
    "get_target",
    "host_targets",
]
