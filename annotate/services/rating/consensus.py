"""Consensus on double-coded segments whose scores differ by more than the study's tolerance.

A task appears only when both raters have marked the segment done (neither sees the other's
score before that). It goes to the study's named senior rater, or else to the segment's primary
rater acting for both raters together. The two original ratings are never changed: they remain
the ones used for reliability; the consensus value (with its reason) is the one used for analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import Assignment, ConsensusTask, Rating, Segment, Study, User, utcnow
from annotate.db.models import Scheme as SchemeRow
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import NotFound, ReasonRequired, ServiceError
from annotate.services.films.tokens import sign_media_url
from annotate.services.policy import SCORING_PURPOSES, StudyStatus
from annotate.services.studies.gate import settings_of
from annotate.services.studies.setup import scheme_model


@dataclass(frozen=True)
class ScoreShown:
    rater: str
    value: float | None
    note: str


@dataclass(frozen=True)
class ConsensusItem:
    task_id: int
    blind_code: str
    segment_index: int
    start_s: float
    end_s: float
    fps: float | None
    dimension: str
    dimension_label: str
    allowed_values: list[float]
    scores: list[ScoreShown]
    status: str
    value: float | None
    reason: str
    media_url: str


def open_tasks_after_done(session: Session, segment_id: int) -> int:
    """Create consensus tasks for a segment once two scoring assignments are done. Returns how many."""
    done = session.scalars(
        select(Assignment)
        .where(
            Assignment.segment_id == segment_id, Assignment.purpose.in_(SCORING_PURPOSES), Assignment.status == "done"
        )
        .order_by(Assignment.purpose != "primary", Assignment.id)
    ).all()
    if len(done) < 2:
        return 0
    first, second = done[0], done[1]
    study = session.get_one(Study, first.study_id)
    conf = settings_of(study)
    tolerance, senior = conf.consensus_tolerance, conf.consensus_rater
    assignee = first.rater_id
    if senior:
        user = session.scalar(select(User).where(User.username == senior))
        if user is not None:
            assignee = user.id
    values = {}
    for a in (first, second):
        values[a.id] = {
            r.dimension: r.value for r in session.scalars(select(Rating).where(Rating.assignment_id == a.id))
        }
    made = 0
    for dim, v1 in values[first.id].items():
        v2 = values[second.id].get(dim)
        if v1 is None or v2 is None or abs(v1 - v2) <= tolerance:
            continue
        exists = session.scalar(
            select(ConsensusTask.id).where(ConsensusTask.segment_id == segment_id, ConsensusTask.dimension == dim)
        )
        if exists:
            continue
        session.add(
            ConsensusTask(
                study_id=study.id, segment_id=segment_id, scheme_id=first.scheme_id, dimension=dim, assignee_id=assignee
            )
        )
        made += 1
    if made:
        session.flush()
        audit.record(session, None, "consensus.open", study_id=study.id, segment=segment_id, tasks=made)
    return made


def consensus_queue(session: Session, actor: Actor, settings: Settings) -> list[ConsensusItem]:
    """The acting rater's consensus tasks: both scores side by side (both raters have finished).

    Open tasks of a study whose ratings can no longer change (locked, unblinded) are left out:
    :func:`resolve` would refuse them, so offering them only wastes a rater's discussion."""
    require_role(actor, "rater")
    editable = [s.value for s in StudyStatus if s.ratings_editable]
    tasks = session.scalars(
        select(ConsensusTask)
        .join(Study, Study.id == ConsensusTask.study_id)
        .where(
            ConsensusTask.assignee_id == actor.user_id,
            or_(ConsensusTask.status != "open", Study.status.in_(editable)),
        )
        .order_by(ConsensusTask.status, ConsensusTask.id)
    ).all()
    key = settings.secret_key()
    out = []
    for t in tasks:
        seg = session.get_one(Segment, t.segment_id)
        rec = seg.recording
        dim = scheme_model(session.get_one(SchemeRow, t.scheme_id)).dimension(t.dimension)
        rows = session.execute(
            select(Assignment, User)
            .join(User, Assignment.rater_id == User.id)
            .where(
                Assignment.segment_id == seg.id, Assignment.purpose.in_(SCORING_PURPOSES), Assignment.status == "done"
            )
            .order_by(Assignment.purpose != "primary", Assignment.id)
        ).all()
        scores = []
        for a, user in rows:
            r = session.scalar(select(Rating).where(Rating.assignment_id == a.id, Rating.dimension == t.dimension))
            scores.append(ScoreShown(user.display_name, r.value if r else None, a.note))
        out.append(
            ConsensusItem(
                task_id=t.id,
                blind_code=rec.blind_code,
                segment_index=seg.index + 1,
                start_s=seg.start_s,
                end_s=seg.end_s,
                fps=rec.fps,
                dimension=t.dimension,
                dimension_label=dim.label,
                allowed_values=dim.allowed_values(),
                scores=scores,
                status=t.status,
                value=t.value,
                reason=t.reason,
                media_url=sign_media_url(key, rec.blind_code, actor.account_id, settings.media_token_minutes),
            )
        )
    return out


def resolve(session: Session, actor: Actor, task_id: int, value: float, reason: str) -> None:
    require_role(actor, "rater")
    task = session.get(ConsensusTask, task_id)
    if task is None or task.assignee_id != actor.user_id:
        raise NotFound(f"Consensus task {task_id} is not yours.")
    study = session.get_one(Study, task.study_id)
    if not StudyStatus(study.status).ratings_editable:
        raise ServiceError(f"The study is {study.status}: consensus can no longer be changed.")
    if not reason.strip():
        raise ReasonRequired("Say how the consensus was reached (e.g. 'discussed; B missed the early bids').")
    dim = scheme_model(session.get_one(SchemeRow, task.scheme_id)).dimension(task.dimension)
    try:
        task.value = float(dim.check_value(value))
    except ValueError as exc:
        raise ServiceError(str(exc)) from None
    task.reason, task.status, task.resolved_by, task.resolved_at = reason.strip(), "resolved", actor.user_id, utcnow()
    audit.record(session, actor, "consensus.resolve", study_id=study.id, task=task.id, dimension=task.dimension)
