"""Stage 4a: target descriptions (triple, features, vector-length assumption)."""

from .targets import DEFAULT_TARGET, TARGETS, Target, get_target

__all__ = ["DEFAULT_TARGET", "TARGETS", "Target", "get_target"]
