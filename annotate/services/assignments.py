"""Assigning segments to raters, each rater's queue in a random order fixed by a recorded seed.

The planned double-coding engine (stratified reliability share, balanced loads) builds on this.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Recording, Segment, User
from annotate.services import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ServiceError
from annotate.services.studies import get_study
from annotate.services.users import get_user


@dataclass(frozen=True)
class SegmentRow:
    segment_id: int
    blind_code: str
    segment_index: int
    start_s: float
    end_s: float
    participant: str | None
    timepoint: str | None
    n_assigned: int


@dataclass(frozen=True)
class AssignmentSummary:
    created: int
    already_assigned: int
    seed: int
    per_rater: dict[str, int]


def assignable_segments(session: Session, actor: Actor, study_key: str) -> list[SegmentRow]:
    """Segments of ready assessment films of a study (raters never get intervention films)."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    counts = dict(
        session.execute(
            select(Assignment.segment_id, func.count()).where(Assignment.study_id == study.id).group_by(Assignment.segment_id)
        ).all()
    )
    rows = session.execute(
        select(Segment, Recording)
        .join(Recording, Segment.recording_id == Recording.id)
        .where(Recording.study_id == study.id, Recording.status == "ready", Recording.purpose == "assessment")
        .order_by(Recording.id, Segment.index)
    ).all()
    return [
        SegmentRow(
            segment_id=seg.id,
            blind_code=rec.blind_code,
            segment_index=seg.index,
            start_s=seg.start_s,
            end_s=seg.end_s,
            participant=rec.participant.external_id if rec.participant else None,
            timepoint=rec.timepoint.name if rec.timepoint else None,
            n_assigned=counts.get(seg.id, 0),
        )
        for seg, rec in rows
    ]


def assign_segments(
    session: Session,
    actor: Actor,
    study_key: str,
    raters: list[str],
    *,
    segment_ids: list[int] | None = None,
    mode: str = "split",
    seed: int | None = None,
) -> AssignmentSummary:
    """Give segments to raters.

    ``mode="split"`` shares the segments out evenly (each segment one rater); ``mode="all"`` gives
    every segment to every named rater. Existing assignments are kept; new ones are appended to
    each rater's queue in an order shuffled with ``seed`` (recorded in the audit log).
    """
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    if mode not in ("split", "all"):
        raise ServiceError(f"Assignment mode must be 'split' or 'all', not {mode!r}.")
    if not raters:
        raise ServiceError("Choose at least one rater.")
    users: list[User] = []
    for name in raters:
        user = get_user(session, name)
        if user.role != "rater":
            raise ServiceError(f"{user.username} is a {user.role}; only raters can be given segments to rate.")
        users.append(user)
    available = {s.segment_id: s for s in assignable_segments(session, actor, study_key)}
    if segment_ids is None:
        chosen = list(available)
    else:
        unknown = [s for s in segment_ids if s not in available]
        if unknown:
            raise ServiceError(
                f"Segment(s) {', '.join(map(str, unknown[:10]))} are not ready assessment segments of {study_key}."
            )
        chosen = list(dict.fromkeys(segment_ids))
    if not chosen:
        raise ServiceError(f"Study {study_key} has no ready assessment films to assign; ingest films first.")
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    rng = random.Random(seed)
    existing = set(
        session.execute(
            select(Assignment.rater_id, Assignment.segment_id).where(
                Assignment.study_id == study.id, Assignment.purpose == "primary"
            )
        ).all()
    )
    plan: dict[int, list[int]] = {u.id: [] for u in users}
    already = 0
    if mode == "all":
        for u in users:
            for sid in chosen:
                if (u.id, sid) in existing:
                    already += 1
                else:
                    plan[u.id].append(sid)
    else:
        load = {
            u.id: session.scalar(
                select(func.count()).select_from(Assignment).where(
                    Assignment.study_id == study.id, Assignment.rater_id == u.id
                )
            )
            or 0
            for u in users
        }
        already_covered = {sid for (_rid, sid) in existing}
        todo = [sid for sid in chosen if sid not in already_covered]
        already = len(chosen) - len(todo)
        rng.shuffle(todo)
        for sid in todo:
            target = min(users, key=lambda u: (load[u.id] + len(plan[u.id]), u.id))
            plan[target.id].append(sid)
    created = 0
    for u in users:
        items = plan[u.id]
        rng.shuffle(items)
        start = session.scalar(select(func.max(Assignment.order_index)).where(Assignment.rater_id == u.id))
        start = -1 if start is None else start
        for offset, sid in enumerate(items, start=1):
            session.add(
                Assignment(
                    study_id=study.id,
                    rater_id=u.id,
                    segment_id=sid,
                    scheme_id=study.scheme_id,
                    purpose="primary",
                    order_index=start + offset,
                )
            )
            created += 1
    if created and study.status == "setup":
        study.status = "rating"
    session.flush()
    per_rater = {u.username: len(plan[u.id]) for u in users}
    audit.record(session, actor, "assign", study_id=study.id, mode=mode, seed=seed, created=created, per_rater=per_rater)
    return AssignmentSummary(created=created, already_assigned=already, seed=seed, per_rater=per_rater)
