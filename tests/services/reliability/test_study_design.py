"""The study report on the engine's own design: every segment double-coded by 2 of 5 raters,
segments nested in films; rater monitoring (severity, drift) and the double-coding plan."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from sqlalchemy import select

from annotate.db.models import Assignment
from annotate.reports.reliability import reliability_from_frame, reliability_json, reliability_text
from annotate.services import accounts, assignments, rating, studies
from annotate.services.errors import ServiceError
from annotate.services.reliability import (
    Criterion,
    assign_trainees,
    create_calibration_set,
    rater_monitoring,
    reliability_plan,
    reliability_report,
)
from tests.services.reliability.test_study import SENS

POOL = ["r1", "r2", "r3", "r4", "r5"]
TRUE = [1, 2, 3, 4, 2, 3, 1, 4]  # the 8 assessment segments' "true" scores (1-4 scales)
OFFSET = {"r1": 0, "r2": 0, "r3": 1, "r4": 0, "r5": -1}  # r3 lenient, r5 severe
JANUARY = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)
MARCH = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def score(rater: str, position: int, wobble: int) -> int:
    return max(1, min(4, TRUE[position] + OFFSET[rater] + (1 if wobble % 3 == 0 else 0)))


def finish_queue(session, actor, positions: dict[int, int], *, purpose=None, done_at=JANUARY, values=None) -> None:
    """The rater scores every dimension of each assignment and marks it done."""
    query = select(Assignment).where(Assignment.rater_id == actor.user_id)
    if purpose:
        query = query.where(Assignment.purpose == purpose)
    for a in session.scalars(query.order_by(Assignment.id)).all():
        k = positions[a.segment_id]
        for dim in (SENS, "intrusiveness", "positive_regard"):
            value = values[a.segment_id] if values else score(actor.username, k, a.segment_id + actor.user_id)
            rating.save_rating(session, actor, a.id, dim, value, expected_version=0)
        rating.mark_done(session, actor, a.id)
        a.done_at = done_at(k) if callable(done_at) else done_at
    session.commit()


@pytest.fixture
def pool(session, people):
    made = dict(people)
    for name in ("r3", "r4", "r5"):
        made[name] = accounts.create_user(session, None, name, f"{name}-password", "rater")
    session.commit()
    return made


@pytest.fixture
def engine_design(session, pool, study):
    """The engine double-codes every segment (share 1) with pairs drawn from 5 raters; all finish."""
    summary = assignments.plan_study(session, pool["res"], study, POOL, share=1.0, seed=11)
    session.commit()
    assert summary.created_reliability == 8
    from tests.services.reliability.test_study import assessment_segments

    segs = assessment_segments(session)
    positions = {sid: k for k, sid in enumerate(segs)}
    for name in POOL:
        finish_queue(session, pool[name], positions)
    return segs


def test_engine_design_gives_values_not_cannot_be_computed(session, pool, engine_design):
    report = reliability_report(session, pool["res"], "T1", dimension=SENS)
    out = reliability_json(report.table)
    json.dumps(out, allow_nan=False)
    assert out["design"]["complete"] is False and out["design"]["ratings_per_unit"] == {"min": 2, "max": 2, "mean": 2.0}
    assert out["design"]["n_rater_pairs"] >= 3 and out["design"]["cluster"] == "film"
    assert out["design"]["n_clusters"] == 4
    # the complete-case ICCs are undefined on this design; the design's statistics are not
    assert out["icc"]["ICC(2,1)"] is None or out["icc"]["ICC(2,1)"]["value"] is None
    assert out["icc_oneway"]["ICC(1)"]["value"] is not None and out["icc_oneway"]["ICC(1)"]["df1"] == 7
    assert out["icc_oneway"]["ICC(1)"]["k0"] == pytest.approx(2.0)
    for form in ("ICC(A,1)", "ICC(C,1)", "ICC(A,k)", "ICC(C,k)"):
        assert out["icc_incomplete"][form]["value"] is not None, form
    assert out["icc_incomplete"]["ICC(A,k)"]["k"] == pytest.approx(2.0)
    assert set(out["variance_components"]) == {"unit", "rater", "residual", "cluster"}
    assert out["d_study"]["units"] == [1, 2, 5, 10] and len(out["d_study"]["phi"]) == 4
    assert out["pairwise"]["n_pairs"] == 8 and out["pairwise"]["agreement"]["exact"] is not None
    assert {r["rater"] for r in out["raters"]} == set(POOL)
    assert out["recommendation"]["key"] == "icc_incomplete.ICC(A,1)"
    assert "ten Hove" in out["recommendation"]["reason"] and "Phi" in out["recommendation"]["reason"]
    # the page's reading is of the recommended coefficient
    assert report.koo_li is not None and report.koo_li.value == out["icc_incomplete"]["ICC(A,1)"]["value"]
    assert "ICC(A,1), incomplete design" in reliability_text(report.table)


def test_engine_design_report_equals_the_clustered_csv(session, pool, engine_design, tmp_path):
    report = reliability_report(session, pool["res"], "T1", dimension=SENS, seed=3, d_raters=(1, 2), d_units=(1, 2))
    path = tmp_path / "ratings.csv"
    report.ratings[["unit", "rater", "score", "film"]].to_csv(path, index=False)
    frame = pd.read_csv(path)
    again = reliability_from_frame(
        frame, categories=[1, 2, 3, 4], level="interval", seed=3, cluster="film", d_raters=(1, 2), d_units=(1, 2)
    )
    assert reliability_json(report.table) == reliability_json(again)
    assert reliability_json(again)["d_study"]["raters"] == [1, 2]
    crossed = reliability_report(session, pool["res"], "T1", dimension=SENS, cluster=None)
    assert "cluster" not in reliability_json(crossed.table)["variance_components"]
    assert reliability_json(crossed.table)["d_study"]["units"] == [1]
    with pytest.raises(ServiceError, match="cluster"):
        reliability_report(session, pool["res"], "T1", dimension=SENS, cluster="family")


def test_severity_finds_the_lenient_and_the_severe_rater(session, pool, engine_design):
    monitor = rater_monitoring(session, pool["res"], "T1", dimension=SENS)
    by_rater = {s.rater: s for s in monitor.severity}
    assert set(by_rater) == set(POOL)
    assert by_rater["r3"].mean_deviation > 0 > by_rater["r5"].mean_deviation
    assert all(s.n >= 1 for s in monitor.severity)
    assert monitor.drift == () and "no reference scores yet" in monitor.drift_note
    assert monitor.criterion == Criterion()


def test_drift_against_master_scores_flags_a_month_below_the_criterion(session, pool, study):
    from tests.services.reliability.test_study import assessment_segments

    segs = assessment_segments(session)
    masters = {sid: {SENS: TRUE[k], "intrusiveness": 2, "positive_regard": 2} for k, sid in enumerate(segs)}
    create_calibration_set(
        session,
        pool["res"],
        "T1",
        "Cal\tMarch \U0001f3a5",
        segs,
        master_scores=masters,
        criterion=Criterion(min_icc_a1=0.8, min_within_1=0.9),
    )
    session.commit()
    assign_trainees(session, pool["res"], "Cal\tMarch \U0001f3a5", ["r4"], seed=1)
    session.commit()
    positions = {sid: k for k, sid in enumerate(segs)}
    # January: r4 matches the masters; March: r4 drifts (scores reversed)
    values = {sid: TRUE[k] if k < 4 else 5 - TRUE[k] for k, sid in enumerate(segs)}
    finish_queue(
        session,
        pool["r4"],
        positions,
        purpose="calibration",
        values=values,
        done_at=lambda k: JANUARY if k < 4 else MARCH,
    )
    monitor = rater_monitoring(session, pool["res"], "T1", dimension=SENS)
    assert monitor.criterion == Criterion(min_icc_a1=0.8, min_within_1=0.9)
    assert [(c.rater, c.month, c.n, c.status) for c in monitor.drift] == [
        ("r4", "2026-01", 4, "meets"),
        ("r4", "2026-03", 4, "below"),
    ]
    assert monitor.flagged == ("r4",)
    assert set(monitor.references["source"]) == {"master"}
    assert monitor.severity == () and "finished by two raters" in monitor.severity_note


def test_plan_gives_segments_and_the_engine_share(session, pool, study):
    plan = reliability_plan(session, pool["res"], "T1", rho=0.7, k=2, width=0.2)
    assert plan.precision.n_units == 101 and plan.n_segments == 8
    assert plan.share == 1.0 and not plan.enough_segments
    studies.update_settings(session, pool["res"], "T1", double_code_share=0.3)
    session.commit()
    plan = reliability_plan(session, pool["res"], "T1", rho=0.85, k=4, width=0.9, rho0=0.5)
    assert plan.precision.n_units == 2 and plan.lower_bound is not None
    assert plan.n_units == max(plan.precision.n_units, plan.lower_bound.n_units)
    assert plan.current_share == 0.3 and plan.current_double_coded == 2
    with pytest.raises(ServiceError, match="CI width"):
        reliability_plan(session, pool["res"], "T1", rho=0.7, width=0)


def test_drift_against_resolved_consensus_scores(session, pool, engine_design):
    from annotate.db.models import ConsensusTask, User

    tasks = session.scalars(select(ConsensusTask).where(ConsensusTask.dimension == SENS)).all()
    assert tasks, "the lenient and the severe rater leave pairs more than one point apart"
    names = dict(session.execute(select(User.id, User.username)).all())
    positions = {sid: k for k, sid in enumerate(engine_design)}
    for task in tasks:
        agreed = TRUE[positions[task.segment_id]]
        rating.resolve_consensus(
            session, pool[names[task.assignee_id]], task.id, agreed, 'discussed; "quotes"\r\nand a new line'
        )
    session.commit()
    monitor = rater_monitoring(session, pool["res"], "T1", dimension=SENS)
    assert set(monitor.references["source"]) == {"consensus"}
    assert len(monitor.references) == 2 * len(tasks)  # both raters of each resolved segment
    assert {c.month for c in monitor.drift} == {"2026-01"}
    assert sum(c.n for c in monitor.drift) == 2 * len(tasks)
    assert all(c.status in ("meets", "below", "undetermined") for c in monitor.drift)
