"""The outcome table of :func:`annotate.services.summaries.outcome_table` as one long table,
for display and for the audited CSV downloads of the summaries page.

Each row is one statistic: ``section`` (descriptives, comparison, within arm, note), where it
applies (arm, time point, treatment and control), its value with the 95% CI, p and n. The
last row (section ``note``) carries the scoring rule, so a downloaded table says how its
scores were made.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from annotate.services import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ServiceError
from annotate.services.studies import get_study
from annotate.services.study_status import require_unblinded
from annotate.services.summaries import OutcomeTable

TABLE_COLUMNS = [
    "section", "arm", "timepoint", "treatment", "control", "statistic", "value", "ci95_low", "ci95_high", "p", "n",
]

def _stat_row(section: str, statistic: str, block: dict | None, **where: Any) -> dict[str, Any]:
    block = block or {}
    low, high = block.get("ci95") or (None, None)
    return {
        "section": section, "statistic": statistic, "value": block.get("value"), "ci95_low": low,
        "ci95_high": high, "p": block.get("p"), "n": block.get("n"), **where,
    }


def outcome_rows(table: OutcomeTable) -> pd.DataFrame:
    """The outcome table as one long frame (``TABLE_COLUMNS``), for display and CSV download.

    Examples
    --------
    >>> result = {"descriptives": [{"arm": "A", "timepoint": "m5", "n": 2, "mean": 5.0, "sd": 1.0,
    ...            "median": 5.0, "q1": 4.5, "q3": 5.5, "min": 4.0, "max": 6.0}], "comparisons": [], "within_arm": []}
    >>> from annotate.services.summaries import OutcomeTable
    >>> rows = outcome_rows(OutcomeTable(result, "rule", 2, False))
    >>> list(rows["statistic"])
    ['n', 'mean', 'sd', 'median', 'q1', 'q3', 'min', 'max', 'rule']
    """
    out: list[dict[str, Any]] = []
    for d in table.result["descriptives"]:
        for stat in ("n", "mean", "sd", "median", "q1", "q3", "min", "max"):
            out.append(_stat_row("descriptives", stat, {"value": d[stat]}, arm=d["arm"], timepoint=d["timepoint"]))
    for c in table.result["comparisons"]:
        where = {"timepoint": c["timepoint"], "treatment": c["treatment"], "control": c["control"]}
        n_both = {"n": c["n_treatment"] + c["n_control"]}
        out.append(_stat_row("comparison", "mean difference (Welch)", {**c["mean_difference"], **n_both}, **where))
        if c["ancova"] is not None:
            out.append(_stat_row("comparison", "ANCOVA adjusted difference", c["ancova"], **where))
        out.append(_stat_row("comparison", "Hedges' g", {**c["hedges_g"], **n_both}, **where))
        t = c["threshold"]
        if t is not None:
            events = f"{t['treatment_events']}/{t['treatment_n']} vs {t['control_events']}/{t['control_n']}"
            out.append(_stat_row("comparison", f"events (score >= {t['value']:g})", {"value": events, **n_both}, **where))
            out.append(_stat_row("comparison", "risk ratio (Katz)", t["risk_ratio"], **where))
            out.append(_stat_row("comparison", "risk difference (Newcombe)", t["risk_difference"], **where))
    for w in table.result["within_arm"]:
        block = {"value": w["mean_change"], "ci95": w["ci95"], "p": w["p"], "n": w["n_pairs"]}
        where = {"arm": w["arm"], "timepoint": f"{w['from']} -> {w['to']}"}
        out.append(_stat_row("within arm", "mean change (paired t)", block, **where))
        out.append(_stat_row("within arm", "Cohen's d_z", {"value": w["cohens_dz"], "n": w["n_pairs"]}, **where))
    out.append(_stat_row("note", "rule", {"value": table.rule_text}))
    return pd.DataFrame(out, columns=TABLE_COLUMNS)


def outcome_csv(session: Session, actor: Actor, study_key: str, table: OutcomeTable, what: str = "table") -> str:
    """CSV text of the outcome table (``what="table"``) or of its scores (``"scores"``); audited as an export."""
    require_role(actor, "researcher")
    if what not in ("table", "scores"):
        raise ServiceError(f"Download 'table' or 'scores', not {what!r}.")
    study = get_study(session, study_key)
    if not table.masked:
        require_unblinded(study, "The per-arm table with real arm names")
    frame = outcome_rows(table) if what == "table" else table.scores
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    audit.record(
        session, actor, f"export.summary_{what}", study_id=study.id, dimension=table.dimension, rule=table.rule,
        analysis_set=table.analysis_set, masked=table.masked, rows=len(frame),
    )
    return buffer.getvalue()


__all__ = ["TABLE_COLUMNS", "outcome_csv", "outcome_rows"]
