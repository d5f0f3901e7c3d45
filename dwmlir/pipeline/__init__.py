"""Stage 4: pass pipelines (named bundles run with ``PassManager``)."""

from .lowering import bundles, full_pipeline, run_bundle, set_vscale_range

__all__ = ["bundles", "full_pipeline", "run_bundle", "set_vscale_range"]
