"""The trial's outcomes: one score per family and time point from the segment ratings, the
per-arm outcome table (masked before unblinding) and its audited downloads.

The names below are the capability's public API; callers import the package, not its modules.
"""

from __future__ import annotations

from annotate.reports.arms import OutcomeRow
from annotate.services.outcomes.downloads import (
    TABLE_COLUMNS,
    outcome_csv,
    outcome_row_list,
    outcome_rows,
)
from annotate.services.outcomes.scoring import (
    score_rows,
)
from annotate.services.outcomes.summaries import (
    ANALYSIS_SETS,
    MEANS_COLUMNS,
    RULES,
    SCORE_COLUMNS,
    OutcomeChoice,
    OutcomeTable,
    SummaryOptions,
    describe_rule,
    outcome_table,
    recording_scores,
    recording_scores_of,
    summary_options,
)

__all__ = [
    "ANALYSIS_SETS",
    "MEANS_COLUMNS",
    "RULES",
    "SCORE_COLUMNS",
    "TABLE_COLUMNS",
    "OutcomeChoice",
    "OutcomeRow",
    "OutcomeTable",
    "SummaryOptions",
    "describe_rule",
    "outcome_csv",
    "outcome_row_list",
    "outcome_rows",
    "outcome_table",
    "recording_scores",
    "recording_scores_of",
    "score_rows",
    "summary_options",
]
