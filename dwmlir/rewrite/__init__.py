"""Stage 2b: our own IR rewrites where upstream has none.

Every depthwise conv is vectorized here directly: plain channels-last ones as register-blocked
rows (``blocked``), the other variants row by row (``vector_rows``). With
``vectorizer="upstream"`` the plain channels-last convs instead become loops of 1-D row convs
for upstream's conv vectorizer, which the transform schedule drives. A fused block's epilogue
and pointwise 1x1 conv (``linalg.generic``/``matmul`` ops the IR builder tags) are fused into
the depthwise code (``vector_rows``, ``pointwise``).
"""

from .blocked import FLAT_3D_ROWS_FROM, compact_rows
from .decompose import DEFAULT_VECTORIZER, ROW_ATTR, VECTORIZERS, RowConv, has_fill, rewrite_depthwise
from .nest import Segment, segments
from .vector_rows import VectorShape, own_vectorizer_ops

__all__ = [
    "DEFAULT_VECTORIZER",
    "FLAT_3D_ROWS_FROM",
    "VECTORIZERS",
    "ROW_ATTR",
    "RowConv",
    "Segment",
    "VectorShape",
    "compact_rows",
    "has_fill",
    "own_vectorizer_ops",
    "rewrite_depthwise",
    "segments",
]
