"""Stage 2b: our own IR rewrites where upstream has none.

N-D channels-last convs become loops of 1-D row convs for upstream's vectorizer; the other
depthwise variants are vectorized here directly.
"""

from .decompose import ROW_ATTR, RowConv, has_fill, rewrite_depthwise
from .nest import Segment, segments
from .vector_rows import VectorShape, own_vectorizer_ops

__all__ = [
    "ROW_ATTR",
    "RowConv",
    "Segment",
    "VectorShape",
    "has_fill",
    "own_vectorizer_ops",
    "rewrite_depthwise",
    "segments",
]
