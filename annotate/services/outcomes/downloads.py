"""The outcome table of :func:`annotate.services.outcomes.summaries.outcome_table` as one long table,
for display and for the audited CSV downloads of the summaries page.

Each row is one statistic: ``section`` (descriptives, comparison, within arm, note), where it
applies (arm, time point, treatment and control), its value with the 95% CI, p and n. The
last row (section ``note``) carries the scoring rule, so a downloaded table says how its
scores were made.
"""

from __future__ import annotations

import io

import pandas as pd
from sqlalchemy.orm import Session

from annotate.reports.arms import ROW_COLUMNS, OutcomeRow, arms_rows, arms_rows_frame
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ServiceError
from annotate.services.outcomes.summaries import OutcomeTable
from annotate.services.policy import READ_ROLES
from annotate.services.studies.gate import require_unblinded
from annotate.services.studies.setup import get_study

TABLE_COLUMNS = ROW_COLUMNS


def outcome_row_list(table: OutcomeTable) -> list[OutcomeRow]:
    """The rows of :func:`annotate.reports.arms.arms_rows`, then the scoring rule as a ``note`` row."""
    return [*arms_rows(table.report), OutcomeRow("note", "rule", table.rule_text)]


def outcome_rows(table: OutcomeTable) -> pd.DataFrame:
    """The outcome table as one long frame (``TABLE_COLUMNS``), for the CSV download."""
    return arms_rows_frame(outcome_row_list(table))


def outcome_csv(session: Session, actor: Actor, study_key: str, table: OutcomeTable, what: str = "table") -> str:
    """CSV text of the outcome table (``what="table"``) or of its scores (``"scores"``); audited as an export."""
    require_role(actor, *READ_ROLES)
    if what not in ("table", "scores"):
        raise ServiceError(f"Download 'table' or 'scores', not {what!r}.")
    study = get_study(session, study_key)
    if not table.masked:
        require_unblinded(study, "The per-arm table with real arm names")
    frame = outcome_rows(table) if what == "table" else table.scores
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\r\n")  # RFC 4180: a CR in a field is quoted
    audit.record(
        session,
        actor,
        f"export.summary_{what}",
        study_id=study.id,
        dimension=table.dimension,
        rule=table.rule,
        analysis_set=table.analysis_set,
        masked=table.masked,
        rows=len(frame),
    )
    return buffer.getvalue()


__all__ = ["TABLE_COLUMNS", "outcome_csv", "outcome_rows"]
