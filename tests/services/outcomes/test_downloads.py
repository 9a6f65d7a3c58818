"""The long outcome table and its audited CSV downloads (annotate.services.outcomes.downloads)."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from sqlalchemy import select

from annotate.db.models import AuditLog, Study
from annotate.services import studies
from annotate.services.errors import PermissionDenied
from annotate.services.outcomes.downloads import TABLE_COLUMNS, outcome_csv, outcome_rows
from annotate.services.outcomes.summaries import outcome_table
from tests.services.outcomes.test_summaries import SENS, build_vipp


def test_outcome_csv_is_audited(session, people, rated):
    res = people["res"]
    table = outcome_table(session, res, "T1", dimension=SENS)
    text = outcome_csv(session, res, "T1", table, "table")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[-1]["section"] == "note" and "consensus" in rows[-1]["value"]
    assert {r["arm"] for r in rows if r["section"] == "descriptives"} == {"Arm A", "Arm B"}
    scores = pd.read_csv(io.StringIO(outcome_csv(session, res, "T1", table, "scores")))
    assert len(scores) == 4
    actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions[-2:] == ["export.summary_table", "export.summary_scores"]
    assert len(outcome_rows(table)) == len(rows)


def test_rows_of_the_vipp_table_and_real_names_refused_before_unblinding(session, settings, people):
    build_vipp(session, settings, people)
    res = people["res"]
    table = outcome_table(session, res, "VPMH", dimension="sensitivity", threshold=5)
    rows = outcome_rows(table)
    assert list(rows.columns) == TABLE_COLUMNS
    rr = rows[rows["statistic"] == "risk ratio (Katz)"].iloc[0]
    # Masked, treatment is "Arm A": the intervention arm or usual care, as the study's mask was drawn.
    mask = studies.arm_labels(session.scalar(select(Study).where(Study.key == "VPMH")))
    expected = (1.94, 0.67, 5.63) if mask["VIPP-PMH"] == "Arm A" else (0.52, 0.18, 1.49)
    assert (rr["timepoint"], round(rr["value"], 2), round(rr["ci95_low"], 2), round(rr["ci95_high"], 2)) == (
        "month5",
        *expected,
    )
    events = rows[rows["statistic"] == "events (score >= 5)"].iloc[0]
    assert {events["treatment"], events["control"]} == {"Arm A", "Arm B"}
    within = rows[rows["section"] == "within arm"]
    assert set(within["timepoint"]) == {"baseline -> month5"}
    # A table claiming real names cannot be downloaded while the study is still blinded.
    unmasked = type(table)(table.report, table.rule_text, table.n_participants, False)
    with pytest.raises(PermissionDenied, match="only after unblinding"):
        outcome_csv(session, res, "VPMH", unmasked, "table")
    with pytest.raises(PermissionDenied):
        outcome_csv(session, people["r1"], "VPMH", table, "table")
