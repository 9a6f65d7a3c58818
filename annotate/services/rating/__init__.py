"""The rater's work: their own queue, scores and notes saved at once with history, consensus
on differing double-coded scores, and the rater's blinding reports (with the researcher's
blinding indices).

The names below are the capability's public API; callers import the package, not its modules.
"""

from __future__ import annotations

from annotate.services.rating.blinding import (
    GUESSES,
    BlindingSummary,
    ReportRow,
    blinding_summary,
    guess_wanted,
    record_guess,
    report_unblinding,
)
from annotate.services.rating.consensus import (
    ConsensusItem,
    ScoreShown,
    consensus_queue,
    open_tasks_after_done,
)
from annotate.services.rating.consensus import (
    resolve as resolve_consensus,
)
from annotate.services.rating.scores import (
    NOTE,
    QueueItem,
    QueuePage,
    RaterQueue,
    RatingItem,
    ScoreConflict,
    format_score,
    mark_done,
    next_open_item,
    open_item,
    own_assignment,
    rater_queue,
    rater_queue_page,
    save_note,
    save_rating,
    touch_assignment,
)

__all__ = [
    "GUESSES",
    "NOTE",
    "BlindingSummary",
    "ConsensusItem",
    "QueueItem",
    "QueuePage",
    "RaterQueue",
    "RatingItem",
    "ReportRow",
    "ScoreConflict",
    "ScoreShown",
    "blinding_summary",
    "consensus_queue",
    "format_score",
    "guess_wanted",
    "mark_done",
    "next_open_item",
    "open_item",
    "open_tasks_after_done",
    "own_assignment",
    "rater_queue",
    "rater_queue_page",
    "record_guess",
    "report_unblinding",
    "resolve_consensus",
    "save_note",
    "save_rating",
    "touch_assignment",
]
