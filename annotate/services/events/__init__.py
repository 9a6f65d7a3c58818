"""Event coding (issue 19): the rater's point and state events with compare-and-set saves, and a
study's events for researchers (the long table and the tidy frame of the timing statistics).

The names below are the capability's public API; callers import the package, not its modules.
"""

from __future__ import annotations

from annotate.schemes import EventGroup  # the groups an EventCoding carries
from annotate.services.events.arms import EVENT_ARMS_COLUMNS, ArmEventRow, ArmEventSummaries, arm_event_summaries
from annotate.services.events.coding import (
    CodingOp,
    EventCoding,
    EventView,
    OpenStatesAtDone,
    add_event,
    apply_coding_op,
    delete_event,
    edit_event,
    event_coding,
    mark_done,
)
from annotate.services.events.study import (
    COUNTED_PURPOSES,
    StudyEventRow,
    StudyEvents,
    event_scheme,
    study_events,
    study_timing_frame,
    timing_frame,
)
from annotate.services.events.timing import ExplainRow, TimingReport, explain_matches, film_url, timing_report
from annotate.stats.timing import BootstrapCI, GroupTiming  # the typed results the page renders

__all__ = [
    "COUNTED_PURPOSES",
    "EVENT_ARMS_COLUMNS",
    "ArmEventRow",
    "ArmEventSummaries",
    "BootstrapCI",
    "CodingOp",
    "EventCoding",
    "EventGroup",
    "EventView",
    "ExplainRow",
    "GroupTiming",
    "OpenStatesAtDone",
    "StudyEventRow",
    "StudyEvents",
    "TimingReport",
    "add_event",
    "apply_coding_op",
    "arm_event_summaries",
    "delete_event",
    "edit_event",
    "event_coding",
    "event_scheme",
    "explain_matches",
    "film_url",
    "mark_done",
    "study_events",
    "study_timing_frame",
    "timing_frame",
    "timing_report",
]
