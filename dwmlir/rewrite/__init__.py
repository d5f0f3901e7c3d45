"""Stage 2b: our own IR rewrites where upstream has none (N-D -> 1-D row decomposition)."""

from .decompose import ROW_ATTR, RowConv, Segment, decompose_depthwise, segments

__all__ = ["ROW_ATTR", "RowConv", "Segment", "decompose_depthwise", "segments"]
