"""The researcher's view of a study in progress: counts only, arms masked until unblinding."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, ConsensusTask, Recording, Segment, User, utcnow
from annotate.services.actor import Actor, require_role
from annotate.services.studies import get_study
from annotate.services.study_status import arm_labels, study_setting
from annotate.services.users import as_utc


@dataclass(frozen=True)
class StudyProgress:
    status: str
    per_rater: pd.DataFrame  # rater, assigned, done, in_progress, minutes_spent, overdue
    per_stratum: pd.DataFrame  # arm (masked before unblinding), timepoint, segments, assigned, done
    consensus_open: int
    consensus_resolved: int
    due_days: int


def study_progress(session: Session, actor: Actor, study_key: str) -> StudyProgress:
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    labels = arm_labels(study)
    due = int(study_setting(study, "due_days"))
    now = utcnow()
    rows = session.execute(
        select(Assignment, User.username)
        .join(User, Assignment.rater_id == User.id)
        .where(Assignment.study_id == study.id)
    ).all()
    per: dict[str, dict[str, float]] = {}
    for a, name in rows:
        d = per.setdefault(name, {"assigned": 0, "done": 0, "in_progress": 0, "minutes_spent": 0.0, "overdue": 0})
        d["assigned"] += 1
        if a.status == "done":
            d["done"] += 1
            if a.first_activity_at and a.done_at:
                d["minutes_spent"] += (as_utc(a.done_at) - as_utc(a.first_activity_at)).total_seconds() / 60
        elif a.status == "in_progress":
            d["in_progress"] += 1
        if a.status != "done" and as_utc(a.created_at) < now - dt.timedelta(days=due):
            d["overdue"] += 1
    per_rater = pd.DataFrame([{"rater": k, **v} for k, v in sorted(per.items())],
                             columns=["rater", "assigned", "done", "in_progress", "minutes_spent", "overdue"])
    per_rater["minutes_spent"] = per_rater["minutes_spent"].round(1)

    seg_rows = session.execute(
        select(Segment.id, Recording)
        .join(Recording, Segment.recording_id == Recording.id)
        .where(Recording.study_id == study.id, Recording.purpose == "assessment", Recording.status == "ready")
    ).all()
    status_of: dict[int, list[str]] = {}
    for a, _name in rows:
        if a.purpose in ("primary", "reliability"):
            status_of.setdefault(a.segment_id, []).append(a.status)
    strata: dict[tuple[str, str], dict[str, int]] = {}
    for seg_id, rec in seg_rows:
        arm = labels.get(rec.participant.arm.name, "?") if rec.participant else "?"
        tp = rec.timepoint.name if rec.timepoint else "?"
        d = strata.setdefault((arm, tp), {"segments": 0, "assigned": 0, "done": 0})
        d["segments"] += 1
        sts = status_of.get(seg_id, [])
        d["assigned"] += bool(sts)
        d["done"] += bool(sts) and all(s == "done" for s in sts)
    per_stratum = pd.DataFrame([{"arm": a, "timepoint": t, **v} for (a, t), v in sorted(strata.items())],
                               columns=["arm", "timepoint", "segments", "assigned", "done"])
    tasks = session.scalars(select(ConsensusTask.status).where(ConsensusTask.study_id == study.id)).all()
    return StudyProgress(
        status=study.status, per_rater=per_rater, per_stratum=per_stratum,
        consensus_open=sum(t == "open" for t in tasks), consensus_resolved=sum(t == "resolved" for t in tasks),
        due_days=due,
    )
