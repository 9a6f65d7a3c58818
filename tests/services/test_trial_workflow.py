"""Issue 4 services on a small study: engine, consensus, the unblinding gate, blinding checks, progress."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select
from sqlalchemy import update as sa_update

from annotate.db.models import Assignment, AuditLog, ConsensusTask, Recording, Segment, Study
from annotate.services import accounts, assignments, exchange, rating, studies
from annotate.services.errors import PermissionDenied, ReasonRequired, ServiceError
from tests.support.signing import sign as _sign


@pytest.fixture
def r3(session):
    a = accounts.create_user(session, None, "r3", "r3-password", "rater")
    session.commit()
    return a


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def finish(session, actor, aid, values):
    for dim, v in values.items():
        item_ver = session.scalars(select(Assignment).where(Assignment.id == aid)).one()
        del item_ver
        rating.save_rating(session, actor, aid, dim, v, expected_version=0)
    rating.mark_done(session, actor, aid)


def test_engine_plans_double_coding_and_extends(session, people, study, r3):
    res = assignments.plan_study(session, people["res"], study, ["r1", "r2", "r3"], share=0.25, seed=4)
    # strata: VIPP·baseline 2 segments, VIPP·month5 4, Control·baseline 2 -> 25% half-up = 1 + 1 + 1
    assert res.created_primary == 8 and res.created_reliability == 3
    assert set(res.share_by_stratum) <= {f"Arm {x} · {t}" for x in "AB" for t in ("baseline", "month5")}
    assert max(res.load.values()) - min(res.load.values()) <= 2  # 2-segment films: 1 is not reachable here
    assert session.scalar(select(AuditLog).where(AuditLog.action == "assign.engine")).detail["seed"] == 4
    with pytest.raises(ServiceError, match="already assigned"):
        assignments.plan_study(session, people["res"], study, ["r1", "r2"], seed=5)
    # A new film arrives: only it is planned; earlier assignments stay as they were.
    before = {(a.id, a.rater_id, a.order_index) for a in session.scalars(select(Assignment))}
    old = session.scalars(select(Recording).where(Recording.blind_code == "CODE2")).one()
    new = Recording(
        study_id=old.study_id,
        participant_id=old.participant_id,
        timepoint_id=session.scalars(select(Recording).where(Recording.blind_code == "CODE1")).one().timepoint_id,
        purpose="assessment",
        blind_code="NEWONE",
        original_name="x.mp4",
        proxy_path=old.proxy_path,
        status="ready",
        duration_s=60,
    )
    session.add(new)
    session.flush()
    session.add(Segment(recording_id=new.id, index=0, start_s=0, end_s=60))
    session.flush()
    more = assignments.plan_study(session, people["res"], study, ["r1", "r2", "r3"], share=0.25, seed=6)
    assert more.films_planned == 1
    after = {(a.id, a.rater_id, a.order_index) for a in session.scalars(select(Assignment))}
    # Nothing planned before is dropped or moved to another rater; open items are reshuffled
    # together with the new ones (a later wave must not queue after an earlier one).
    assert {(i, r) for i, r, _ in before} <= {(i, r) for i, r, _ in after}


def test_rater_cannot_tell_double_coded(session, settings, people, study, r3):
    assignments.plan_study(session, people["res"], study, ["r1", "r2", "r3"], share=0.5, seed=1)
    for who in ("r1", "r2"):
        q = rating.rater_queue(session, people.get(who, r3))
        assert all(not hasattr(i, "purpose") for i in q.items)
        item = rating.open_item(session, people[who], settings, q.items[0].assignment_id)
        assert "purpose" not in item.__dataclass_fields__


@pytest.fixture
def double_coded(session, people, study):
    assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="all", seed=2)
    session.commit()
    q1, q2 = rating.rater_queue(session, people["r1"]), rating.rater_queue(session, people["r2"])
    seg_of = {a.id: a.segment_id for a in session.scalars(select(Assignment))}
    a1 = q1.items[0].assignment_id
    a2 = next(i.assignment_id for i in q2.items if seg_of[i.assignment_id] == seg_of[a1])
    return a1, a2, seg_of[a1]


def test_consensus_appears_after_both_done_and_keeps_originals(session, settings, people, study, double_coded):
    a1, a2, _seg = double_coded
    finish(session, people["r1"], a1, {"sensitivity_nondistress": 1, "intrusiveness": 2, "positive_regard": 3})
    assert rating.consensus_queue(session, people["r1"], settings) == []  # r2 not done yet: nothing shown
    finish(session, people["r2"], a2, {"sensitivity_nondistress": 4, "intrusiveness": 2, "positive_regard": 4})
    tasks = rating.consensus_queue(session, people["r1"], settings)
    assert [t.dimension for t in tasks] == ["sensitivity_nondistress"]  # 3 apart; the others within 1
    assert sorted(s.value for s in tasks[0].scores) == [1.0, 4.0]
    assert rating.consensus_queue(session, people["r2"], settings) == []  # the primary rater decides
    with pytest.raises(ReasonRequired):
        rating.resolve_consensus(session, people["r1"], tasks[0].task_id, 3, "")
    with pytest.raises(ServiceError, match="between 1 and 4"):
        rating.resolve_consensus(session, people["r1"], tasks[0].task_id, 7, "talked")
    rating.resolve_consensus(session, people["r1"], tasks[0].task_id, 3, "discussed the early bids")
    out = rows(exchange.ratings_csv(session, people["res"], study, mode="masked"))
    sens = [
        r
        for r in out
        if r["dimension"] == "sensitivity_nondistress"
        and r["recording"] == tasks[0].blind_code
        and r["segment"] == str(tasks[0].segment_index)
    ]
    assert sorted((r["purpose"], r["value"]) for r in sens) == [("consensus", "3"), ("primary", "1"), ("primary", "4")]


def test_open_consensus_of_a_locked_study_is_not_offered(session, settings, people, study, double_coded):
    a1, a2, _seg = double_coded
    finish(session, people["r1"], a1, {"sensitivity_nondistress": 1, "intrusiveness": 2, "positive_regard": 3})
    finish(session, people["r2"], a2, {"sensitivity_nondistress": 4, "intrusiveness": 2, "positive_regard": 4})
    assert len(rating.consensus_queue(session, people["r1"], settings)) == 1
    session.execute(sa_update(Study).where(Study.key == study).values(status="locked"))
    session.commit()
    assert rating.consensus_queue(session, people["r1"], settings) == []  # resolve would refuse it


def test_senior_rater_gets_consensus(session, settings, people, study, double_coded, r3):
    studies.update_settings(session, people["res"], study, consensus_rater="r3", consensus_tolerance=0)
    a1, a2, _ = double_coded
    finish(session, people["r1"], a1, {"sensitivity_nondistress": 1, "intrusiveness": 2, "positive_regard": 3})
    finish(session, people["r2"], a2, {"sensitivity_nondistress": 2, "intrusiveness": 2, "positive_regard": 3})
    assert [t.dimension for t in rating.consensus_queue(session, r3, settings)] == ["sensitivity_nondistress"]


def test_gate_exports_and_lock(session, people, study, double_coded):
    a1, _a2, _ = double_coded
    finish(session, people["r1"], a1, {"sensitivity_nondistress": 1, "intrusiveness": 2, "positive_regard": 3})
    res = people["res"]
    masked = exchange.ratings_csv(session, res, study)  # auto = masked before unblinding
    first = rows(masked)[0]
    assert first["arm"] in ("Arm A", "Arm B"), first
    assert "VIPP" not in masked and first["participant"].startswith("S-")  # a study pseudonym
    assert not {r["participant"] for r in rows(masked)} & {"P01", "P02", "P03"}
    blinded = rows(exchange.ratings_csv(session, res, study, mode="blinded"))
    assert "participant" not in blinded[0] and "arm" not in blinded[0] and "timepoint" not in blinded[0]
    with pytest.raises(PermissionDenied, match="after unblinding"):
        exchange.ratings_csv(session, res, study, mode="full")
    with pytest.raises(ServiceError, match="cannot become unblinded"):
        studies.set_status(session, res, study, "unblinded", "analysis")
    studies.set_status(session, res, study, "locked", signature=_sign(session, res))
    with pytest.raises(PermissionDenied, match="locked"):
        rating.save_rating(session, people["r1"], a1, "intrusiveness", 3, expected_version=1)
    with pytest.raises(PermissionDenied):
        studies.correct_locked_rating(session, res, a1, "intrusiveness", 3, "typo")
    with pytest.raises(ServiceError, match="e-signature"):
        studies.correct_locked_rating(session, people["adm"], a1, "intrusiveness", 3, "entered on the wrong line")
    studies.correct_locked_rating(
        session,
        people["adm"],
        a1,
        "intrusiveness",
        3,
        "entered on the wrong line",
        signature=_sign(session, people["adm"]),
    )
    with pytest.raises(ReasonRequired):
        studies.set_status(session, res, study, "unblinded", "")
    studies.set_status(
        session, res, study, "unblinded", "all ratings locked; primary analysis", signature=_sign(session, res)
    )
    full = rows(exchange.ratings_csv(session, res, study, mode="full"))
    assert {r["arm"] for r in full} <= {"VIPP", "Control"}
    assert [r["changed_after_lock"] for r in full if r["dimension"] == "intrusiveness"] == ["yes"]
    actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert "study.locked" in actions and "study.unblinded" in actions and "rating.correct_after_lock" in actions
    with pytest.raises(ServiceError, match="last step"):
        studies.set_status(session, res, study, "rating", "oops")


def test_blinding_reports_guesses_and_indices(session, people, study, double_coded):
    a1, _a2, _ = double_coded
    with pytest.raises(ServiceError, match="Say what"):
        rating.report_unblinding(session, people["r1"], a1, " ")
    rating.report_unblinding(session, people["r1"], a1, "mother mentions the video sessions")
    studies.update_settings(session, people["res"], study, ask_arm_guess=True)
    finish(session, people["r1"], a1, {"sensitivity_nondistress": 1, "intrusiveness": 2, "positive_regard": 3})
    rec_items = [
        i
        for i in rating.rater_queue(session, people["r1"]).items
        if i.blind_code == rating.rater_queue(session, people["r1"]).items[0].blind_code
    ]
    if len(rec_items) > 1:  # the other segment of the film is still open: no guess yet
        assert not rating.guess_wanted(session, people["r1"], a1)
        for it in rec_items[1:]:
            finish(
                session,
                people["r1"],
                it.assignment_id,
                {"sensitivity_nondistress": 2, "intrusiveness": 2, "positive_regard": 2},
            )
    assert rating.guess_wanted(session, people["r1"], a1)
    rating.record_guess(session, people["r1"], a1, "treatment")
    assert not rating.guess_wanted(session, people["r1"], a1)
    with pytest.raises(ServiceError):
        rating.record_guess(session, people["r1"], a1, "treatment")
    summary = rating.blinding_summary(session, people["res"], study)
    assert summary.n_guesses == 1 and [r.kind for r in summary.reports] == ["unblinded", "guess"]
    assert summary.treatment_label.startswith("Arm ")
    assert (summary.bang_treatment is None) != (summary.bang_control is None)
    with pytest.raises(PermissionDenied):
        rating.blinding_summary(session, people["r1"], study)


def test_progress_counts(session, people, study, double_coded):
    a1, _a2, _ = double_coded
    finish(session, people["r1"], a1, {"sensitivity_nondistress": 1, "intrusiveness": 2, "positive_regard": 3})
    p = studies.study_progress(session, people["res"], study)
    r1 = p.per_rater.set_index("rater").loc["r1"]
    assert (r1["assigned"], r1["done"]) == (8, 1)
    assert p.per_stratum["segments"].sum() == 8
    assert set(p.per_stratum["arm"]) <= {"Arm A", "Arm B"}
    assert session.scalar(select(ConsensusTask.id)) is None
