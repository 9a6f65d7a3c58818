import pytest
from sqlalchemy import select

from annotate.db.models import Assignment, AuditLog
from annotate.services import assignments
from annotate.services.errors import PermissionDenied, ServiceError


def test_split_balances_and_is_reproducible(session, people, study):
    res = assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="split", seed=42)
    assert res.created == 8 and sorted(res.per_rater.values()) == [4, 4]
    orders = sorted((a.rater_id, a.order_index, a.segment_id) for a in session.scalars(select(Assignment)))
    audit = session.scalar(select(AuditLog).where(AuditLog.action == "assign"))
    assert audit.detail["seed"] == 42
    session.rollback()
    res2 = assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="split", seed=42)
    assert sorted((a.rater_id, a.order_index, a.segment_id) for a in session.scalars(select(Assignment))) == orders
    assert res2.seed == 42


def test_extending_keeps_existing(session, people, study):
    segs = assignments.assignable_segments(session, people["res"], study)
    first = [s.segment_id for s in segs[:3]]
    assignments.assign_segments(session, people["res"], study, ["r1"], segment_ids=first, seed=1)
    done = session.scalars(select(Assignment).order_by(Assignment.order_index)).first()
    done.status = "done"
    before = {a.id for a in session.scalars(select(Assignment))}
    res = assignments.assign_segments(session, people["res"], study, ["r1", "r2"], seed=2)
    assert res.already_assigned == 3 and res.created == 5
    after = {a.id: a.order_index for a in session.scalars(select(Assignment))}
    # Nothing is dropped; a done item keeps its place; open items are reshuffled with the new ones.
    assert before <= set(after) and after[done.id] == done.order_index
    seeds = [a.detail["seed"] for a in session.scalars(select(AuditLog).where(AuditLog.action == "assign.reshuffle"))]
    assert seeds == [1, 2]


def test_errors(session, people, study):
    with pytest.raises(ServiceError, match="only raters"):
        assignments.assign_segments(session, people["res"], study, ["clin"])
    with pytest.raises(ServiceError, match="not ready assessment segments"):
        assignments.assign_segments(session, people["res"], study, ["r1"], segment_ids=[9999])
    with pytest.raises(PermissionDenied):
        assignments.assign_segments(session, people["r1"], study, ["r1"])
