"""Rater certification against master scores (annotate.services.reliability.certification)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from annotate.db.models import Assignment, AuditLog
from annotate.services import accounts, assignments, rating
from annotate.services.errors import NotFound, PermissionDenied, ServiceError
from annotate.services.reliability.certification import (
    CertificationIncomplete,
    Criterion,
    assign_trainees,
    calibration_candidates,
    calibration_set_info,
    certification_report,
    create_calibration_set,
    list_calibration_sets,
)
from tests.services.reliability.test_study import SCORES, SENS, assessment_segments, rate

DIMS = (SENS, "intrusiveness", "positive_regard")


@pytest.fixture
def master_done(session, people, study):
    """r1 (the future master) finished all 8 segments; trainees t1 and t2 exist."""
    assignments.assign_segments(session, people["res"], study, ["r1"], mode="all", seed=1)
    session.commit()
    segs = assessment_segments(session)
    rate(session, people["r1"], SCORES["r1"], segs)
    for name in ("t1", "t2"):
        people[name] = accounts.create_user(session, None, name, f"{name}-password", "rater")
    session.commit()
    return segs


def master_of(segment_index: int) -> dict[str, int]:
    return {d: SCORES["r1"][d][segment_index] for d in DIMS}


@pytest.fixture
def calibration(session, people, master_done):
    """Set 'Cal A' on the first six segments, master scores copied from r1."""
    info = create_calibration_set(session, people["res"], "T1", "Cal A", master_done[:6], master_rater="r1")
    session.commit()
    return info


def trainee_scores(indices, shift=None):
    """Scores for segments ``indices``: the master's, changed at the positions in ``shift``."""
    shift = shift or {}
    out = {d: [] for d in DIMS}
    for k in indices:
        for d in DIMS:
            out[d].append(shift.get((k, d), SCORES["r1"][d][k]))
    return out


def test_create_from_master_rater_copies_done_scores(session, people, calibration, master_done):
    assert calibration.n_segments == 6 and calibration.master_source == "rater"
    assert calibration.master_rater == "r1" and calibration.dimensions == DIMS
    assert calibration.criterion == Criterion(0.70, 0.80, None)
    from annotate.db.models_calibration import CalibrationItem

    items = session.scalars(select(CalibrationItem).order_by(CalibrationItem.ordinal)).all()
    assert [i.segment_id for i in items] == master_done[:6]
    assert items[2].master_scores == {d: float(v) for d, v in master_of(2).items()}
    assert [s.name for s in list_calibration_sets(session, people["res"], "T1")] == ["Cal A"]


def test_trainee_gets_calibration_items_in_their_queue(session, people, calibration, master_done):
    made = assign_trainees(session, people["res"], "Cal A", ["t1"], seed=4)
    session.commit()
    assert made == {"t1": 6}
    rows = session.scalars(select(Assignment).where(Assignment.rater_id == people["t1"].user_id)).all()
    assert {a.purpose for a in rows} == {"calibration"} and {a.status for a in rows} == {"assigned"}
    assert sorted(a.segment_id for a in rows) == master_done[:6]
    queue = rating.rater_queue(session, people["t1"])
    assert queue.total == 6
    # again: nothing new
    assert assign_trainees(session, people["res"], "Cal A", ["t1"]) == {"t1": 0}


def test_pass_when_close_to_master(session, people, calibration, master_done):
    assign_trainees(session, people["res"], "Cal A", ["t1"], seed=4)
    session.commit()
    # one sensitivity score one point off the master (master 3 -> 4), everything else equal
    rate(session, people["t1"], trainee_scores(range(6), {(2, SENS): 4}), master_done[:6], purpose="calibration")
    report = certification_report(session, people["res"], "Cal A", "t1")
    session.commit()
    assert report.passed and report.n_segments == 6
    by_dim = {r.dimension: r for r in report.results}
    assert set(by_dim) == set(DIMS)
    sens = by_dim[SENS]
    assert sens.pct_exact == pytest.approx(5 / 6) and sens.pct_within_1 == 1.0 and sens.n_segments == 6
    assert 0.70 <= sens.icc_a1 < 1 and sens.ci95[0] < sens.icc_a1 < sens.ci95[1]
    assert by_dim["intrusiveness"].icc_a1 == pytest.approx(1.0) and by_dim["intrusiveness"].pct_exact == 1.0
    info = calibration_set_info(session, people["res"], "Cal A")
    assert [(t.rater, t.n_done, t.n_total, t.passed) for t in info.trainees] == [("t1", 6, 6, True)]
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "calibration.certify")).all()
    assert len(audit) == 1 and audit[0].detail["rater"] == "t1" and audit[0].detail["passed"] is True


def test_fail_when_far_from_master(session, people, calibration, master_done):
    assign_trainees(session, people["res"], "Cal A", ["t2"], seed=4)
    session.commit()
    # sensitivity far off: master 1,2,3,4,2,3 -> trainee 4,1,1,2,4,1 (ICC negative, 1 of 6 within one)
    far = {(k, SENS): v for k, v in enumerate([4, 1, 1, 2, 4, 1])}
    rate(session, people["t2"], trainee_scores(range(6), far), master_done[:6], purpose="calibration")
    report = certification_report(session, people["res"], "Cal A", "t2")
    assert not report.passed
    sens = next(r for r in report.results if r.dimension == SENS)
    assert not sens.passed and sens.icc_a1 < 0 and sens.pct_within_1 == pytest.approx(1 / 6)
    assert all(r.passed for r in report.results if r.dimension != SENS)


def test_stricter_criterion_of_the_set_is_applied(session, people, master_done):
    create_calibration_set(
        session,
        people["res"],
        "T1",
        "Strict",
        master_done[:6],
        master_rater="r1",
        criterion=Criterion(min_icc_a1=0.70, min_within_1=0.80, min_exact=0.9),
    )
    assign_trainees(session, people["res"], "Strict", ["t1"], seed=4)
    session.commit()
    rate(session, people["t1"], trainee_scores(range(6), {(2, SENS): 4}), master_done[:6], purpose="calibration")
    report = certification_report(session, people["res"], "Strict", "t1")
    assert not report.passed  # 5/6 exact on sensitivity < 0.9
    assert report.criterion.min_exact == 0.9


def test_partial_completion_says_how_many_are_left(session, people, calibration, master_done):
    assign_trainees(session, people["res"], "Cal A", ["t1"], seed=4)
    session.commit()
    rate(session, people["t1"], trainee_scores(range(2)), master_done[:2], purpose="calibration")
    with pytest.raises(CertificationIncomplete, match="finished 2 of 6 segments of Cal A; 4 are left"):
        certification_report(session, people["res"], "Cal A", "t1")
    with pytest.raises(NotFound, match="not assigned"):
        certification_report(session, people["res"], "Cal A", "t2")


def test_entered_master_scores_are_validated(session, people, master_done):
    segs = master_done[6:8]
    with pytest.raises(ServiceError, match="must be between 1 and 4"):
        create_calibration_set(
            session,
            people["res"],
            "T1",
            "Typed",
            segs,
            master_scores={segs[0]: {SENS: 7}, segs[1]: {SENS: 2}},
        )
    with pytest.raises(ServiceError, match="no sensitivity_nondistress score"):
        create_calibration_set(
            session,
            people["res"],
            "T1",
            "Typed",
            segs,
            master_scores={segs[0]: {SENS: 3}, segs[1]: {SENS: None}},
        )
    info = create_calibration_set(
        session,
        people["res"],
        "T1",
        "Typed",
        segs,
        master_scores={segs[0]: {SENS: 3}, segs[1]: {SENS: 1}},
        criterion=Criterion(min_icc_a1=0.8, min_within_1=0.9),
    )
    assert info.dimensions == (SENS,) and info.master_source == "entered" and info.master_rater is None
    assert info.criterion.min_icc_a1 == 0.8
    created = session.scalars(select(AuditLog).where(AuditLog.action == "calibration.create")).all()
    assert [a.detail["set"] for a in created] == ["Typed"]


def test_set_creation_refuses_bad_requests(session, people, master_done, calibration):
    res = people["res"]
    with pytest.raises(ServiceError, match="already exists"):
        create_calibration_set(session, res, "T1", "Cal A", master_done[:2], master_rater="r1")
    with pytest.raises(ServiceError, match="not both or neither"):
        create_calibration_set(session, res, "T1", "B", master_done[:2])
    with pytest.raises(ServiceError, match="at least two segments"):
        create_calibration_set(session, res, "T1", "B", master_done[:1], master_rater="r1")
    with pytest.raises(ServiceError, match="r2 has not finished"):
        create_calibration_set(session, res, "T1", "B", master_done[:2], master_rater="r2")
    with pytest.raises(ServiceError, match="between -1 and 1"):
        create_calibration_set(
            session, res, "T1", "B", master_done[:2], master_rater="r1", criterion=Criterion(min_icc_a1=70)
        )


def test_trainee_who_has_seen_the_segments_or_is_the_master_is_refused(session, people, calibration, master_done):
    with pytest.raises(ServiceError, match="supplied the master scores"):
        assign_trainees(session, people["res"], "Cal A", ["r1"])
    assignments.assign_segments(session, people["res"], "T1", ["r2"], segment_ids=master_done[:1], mode="all", seed=1)
    with pytest.raises(ServiceError, match="already has 1 of the 6 segments"):
        assign_trainees(session, people["res"], "Cal A", ["r2"])
    with pytest.raises(ServiceError, match="only raters"):
        assign_trainees(session, people["res"], "Cal A", ["clin"])


def test_drift_check_on_a_later_set(session, people, calibration, master_done):
    assign_trainees(session, people["res"], "Cal A", ["t1"], seed=4)
    session.commit()
    rate(session, people["t1"], trainee_scores(range(6)), master_done[:6], purpose="calibration")
    assert certification_report(session, people["res"], "Cal A", "t1").passed
    later = create_calibration_set(
        session,
        people["res"],
        "T1",
        "Drift 1",
        master_done[6:8],
        master_scores={master_done[6]: master_of(6), master_done[7]: master_of(7)},
    )
    assign_trainees(session, people["res"], later.id, ["t1"], seed=4)
    session.commit()
    rate(session, people["t1"], trainee_scores([6, 7]), master_done[6:8], purpose="calibration")
    drift = certification_report(session, people["res"], later.id, "t1")
    assert drift.set_name == "Drift 1" and drift.passed and drift.n_segments == 2


def test_calibration_ratings_stay_out_of_reliability(session, people, calibration, master_done):
    from annotate.services.reliability.study import reliability_ratings

    assign_trainees(session, people["res"], "Cal A", ["t1"], seed=4)
    session.commit()
    rate(session, people["t1"], trainee_scores(range(6)), master_done[:6], purpose="calibration")
    assert reliability_ratings(session, people["res"], "T1", dimension=SENS).empty
    both = reliability_ratings(session, people["res"], "T1", dimension=SENS, purposes=("primary", "calibration"))
    assert set(both["rater"]) == {"r1", "t1"}


def test_raters_are_refused(session, people, calibration, master_done):
    r = people["r2"]
    for call in (
        lambda: create_calibration_set(session, r, "T1", "X", master_done[:2], master_rater="r1"),
        lambda: assign_trainees(session, r, "Cal A", ["r2"]),
        lambda: certification_report(session, r, "Cal A", "r2"),
        lambda: calibration_candidates(session, r, "T1"),
        lambda: list_calibration_sets(session, r),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_candidates_show_blind_labels_and_who_finished(session, people, master_done):
    cands = calibration_candidates(session, people["res"], "T1")
    assert len(cands) == 8 and all(c.done_by == ("r1",) for c in cands)
    assert all(c.label.startswith("CODE") for c in cands)
