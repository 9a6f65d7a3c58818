"""Who rates what: the planning engine (stratified double-coding, family rule, balanced
loads, interleaved queues; ``plan`` is pure) and manual assignment.

The names below are the capability's public API; callers import the package, not its modules.
"""

from __future__ import annotations

from annotate.services.assignments.engine import (
    AssignmentSummary,
    EngineSummary,
    QueueRow,
    SegmentRow,
    assign_segments,
    assignable_segments,
    plan_study,
    queue_of,
    reshuffle_open_items,
)
from annotate.services.assignments.plan import (
    AssignmentPlan,
    ExistingState,
    FilmUnit,
    PlannedItem,
    interleave,
    plan_assignments,
)

__all__ = [
    "AssignmentPlan",
    "AssignmentSummary",
    "EngineSummary",
    "ExistingState",
    "FilmUnit",
    "PlannedItem",
    "QueueRow",
    "SegmentRow",
    "assign_segments",
    "assignable_segments",
    "interleave",
    "plan_assignments",
    "plan_study",
    "queue_of",
    "reshuffle_open_items",
]
