"""Stage 3: transform-dialect schedules (functions returning a transform module)."""

from .depthwise import ENTRY_POINT, Plan, apply_schedule, build_schedule, describe_plan, plan_for

__all__ = ["ENTRY_POINT", "Plan", "apply_schedule", "build_schedule", "describe_plan", "plan_for"]
