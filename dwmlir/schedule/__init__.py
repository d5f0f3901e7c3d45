"""Stage 3: transform-dialect schedules (functions returning a transform module)."""

from .depthwise import ENTRY_POINT, Plan, apply_schedule, build_schedule, fill_plan, row_plan

__all__ = ["ENTRY_POINT", "Plan", "apply_schedule", "build_schedule", "fill_plan", "row_plan"]
