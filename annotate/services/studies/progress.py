"""The researcher's view of a study in progress: counts only, arms masked until unblinding."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, SQLColumnExpression, case, func, select
from sqlalchemy.orm import Session

from annotate.db.models import (
    ASSIGNMENT_STATUSES,
    Arm,
    Assignment,
    ConsensusTask,
    Participant,
    Recording,
    Segment,
    Study,
    Timepoint,
    User,
    utcnow,
)
from annotate.services.actor import Actor, require_role
from annotate.services.policy import READ_ROLES
from annotate.services.studies.gate import arm_labels, settings_of
from annotate.services.studies.revision import cached
from annotate.services.studies.setup import get_study


@dataclass(frozen=True)
class StudyProgress:
    status: str
    per_rater: pd.DataFrame  # rater, assigned, done, in_progress, minutes_spent, overdue
    per_stratum: pd.DataFrame  # arm (masked before unblinding), timepoint, segments, assigned, done
    consensus_open: int
    consensus_resolved: int
    due_days: int


def _minutes(session: Session, start: SQLColumnExpression[Any], end: SQLColumnExpression[Any]) -> ColumnElement[Any]:
    """Minutes from ``start`` to ``end`` computed by the database (SQLite and PostgreSQL)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 1440.0
    return func.extract("epoch", end - start) / 60.0


def study_progress(session: Session, actor: Actor, study_key: str) -> StudyProgress:
    """Counts per rater and per stratum, aggregated in SQL: a fixed number of statements.

    The counts are kept until the study's data changes (``revision.cached``); what is overdue
    depends on today's date and is counted afresh from the open items only.
    """
    require_role(actor, *READ_ROLES)
    study = get_study(session, study_key)
    due = settings_of(study).due_days
    per_rater, per_stratum, tasks = cached(session, study, "study_progress", (), lambda: _counts(session, study))
    cutoff = utcnow() - dt.timedelta(days=due)
    overdue = dict(
        session.execute(
            select(User.username, func.count())
            .select_from(Assignment)
            .join(User, Assignment.rater_id == User.id)
            .where(
                Assignment.study_id == study.id,
                Assignment.status.in_([x for x in ASSIGNMENT_STATUSES if x != "done"]),
                Assignment.created_at < cutoff,
            )
            .group_by(User.username)
        ).all()
    )
    per_rater = per_rater.copy()
    per_rater["overdue"] = [int(overdue.get(name, 0)) for name in per_rater["rater"]]
    return StudyProgress(
        status=study.status,
        per_rater=per_rater,
        per_stratum=per_stratum.copy(),
        consensus_open=int(tasks.get("open", 0)),
        consensus_resolved=int(tasks.get("resolved", 0)),
        due_days=due,
    )


def _counts(session: Session, study: Study) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    labels = arm_labels(study)
    is_done = Assignment.status == "done"
    spent = case(
        (
            is_done & Assignment.first_activity_at.is_not(None) & Assignment.done_at.is_not(None),
            _minutes(session, Assignment.first_activity_at, Assignment.done_at),
        ),
        else_=0.0,
    )
    per_rows = session.execute(
        select(
            User.username,
            func.count(),
            func.sum(case((is_done, 1), else_=0)),
            func.sum(case((Assignment.status == "in_progress", 1), else_=0)),
            func.sum(spent),
        )
        .join(User, Assignment.rater_id == User.id)
        .where(Assignment.study_id == study.id)
        .group_by(User.username)
        .order_by(User.username)
    ).all()
    per_rater = pd.DataFrame(
        [
            {
                "rater": name,
                "assigned": int(n),
                "done": int(d or 0),
                "in_progress": int(ip or 0),
                "minutes_spent": float(m or 0.0),
                "overdue": 0,
            }
            for name, n, d, ip, m in per_rows
        ],
        columns=["rater", "assigned", "done", "in_progress", "minutes_spent", "overdue"],
    )
    per_rater["minutes_spent"] = per_rater["minutes_spent"].astype(float).round(1)

    # Per segment: how many scoring assignments, how many done; then per arm x time point.
    per_segment = (
        select(
            Assignment.segment_id.label("segment_id"),
            func.count().label("n"),
            func.sum(case((is_done, 1), else_=0)).label("n_done"),
        )
        .where(Assignment.study_id == study.id, Assignment.purpose.in_(("primary", "reliability")))
        .group_by(Assignment.segment_id)
        .subquery()
    )
    assigned = per_segment.c.n.is_not(None)
    strata_rows = session.execute(
        select(
            Arm.name,
            Timepoint.name,
            func.count(Segment.id),
            func.sum(case((assigned, 1), else_=0)),
            func.sum(case((assigned & (per_segment.c.n == per_segment.c.n_done), 1), else_=0)),
        )
        .select_from(Segment)
        .join(Recording, Segment.recording_id == Recording.id)
        .outerjoin(Participant, Recording.participant_id == Participant.id)
        .outerjoin(Arm, Participant.arm_id == Arm.id)
        .outerjoin(Timepoint, Recording.timepoint_id == Timepoint.id)
        .outerjoin(per_segment, per_segment.c.segment_id == Segment.id)
        .where(Recording.study_id == study.id, Recording.purpose == "assessment", Recording.status == "ready")
        .group_by(Arm.name, Timepoint.name)
    ).all()
    strata: dict[tuple[str, str], dict[str, int]] = {}
    for arm_name, tp_name, n_seg, n_assigned, n_done in strata_rows:
        arm = labels.get(arm_name, "?") if arm_name is not None else "?"
        counts = strata.setdefault((arm, tp_name or "?"), {"segments": 0, "assigned": 0, "done": 0})
        counts["segments"] += int(n_seg)
        counts["assigned"] += int(n_assigned or 0)
        counts["done"] += int(n_done or 0)
    per_stratum = pd.DataFrame(
        [{"arm": a, "timepoint": t, **v} for (a, t), v in sorted(strata.items())],
        columns=["arm", "timepoint", "segments", "assigned", "done"],
    )
    tasks = dict(
        session.execute(
            select(ConsensusTask.status, func.count())
            .where(ConsensusTask.study_id == study.id)
            .group_by(ConsensusTask.status)
        ).all()
    )
    return per_rater, per_stratum, tasks


@dataclass(frozen=True)
class LockChecklist:
    """What is still open before a study's ratings are locked (from :func:`study_progress`)."""

    open_per_rater: dict[str, int]  # rater -> assigned segments not done (raters with none are left out)
    overdue_raters: dict[str, int]  # rater -> items overdue
    consensus_open: int

    @property
    def clear(self) -> bool:
        return not self.open_per_rater and not self.overdue_raters and not self.consensus_open


def lock_checklist(session: Session, actor: Actor, study_key: str) -> LockChecklist:
    """The checklist the Lock step shows: open segments per rater, overdue raters, open consensus."""
    p = study_progress(session, actor, study_key)
    rows = [
        (str(r["rater"]), int(r["assigned"]), int(r["done"]), int(r["overdue"])) for r in p.per_rater.to_dict("records")
    ]
    return LockChecklist(
        open_per_rater={name: assigned - done for name, assigned, done, _ in rows if assigned > done},
        overdue_raters={name: overdue for name, _, _, overdue in rows if overdue},
        consensus_open=p.consensus_open,
    )
