"""Stage 4: pass pipelines (named bundles run with ``PassManager``)."""

from .lowering import CLEANUP, bundles, full_pipeline, lower_vector, run_bundle, set_vscale_range, to_llvm

__all__ = ["CLEANUP", "bundles", "full_pipeline", "lower_vector", "run_bundle", "set_vscale_range", "to_llvm"]
