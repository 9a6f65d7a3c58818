"""Assigning segments to raters, each rater's queue in a random order fixed by a recorded seed.

The planned double-coding engine (stratified reliability share, balanced loads) builds on this.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Participant, Recording, Segment, Study, Timepoint, User
from annotate.services.accounts import audit
from annotate.services.accounts.users import get_user
from annotate.services.actor import Actor, require_role
from annotate.services.assignments.plan import ExistingState, FilmUnit, PlannedItem, interleave, plan_assignments
from annotate.services.errors import ServiceError
from annotate.services.policy import StudyStatus
from annotate.services.studies.gate import arm_labels, settings_of
from annotate.services.studies.revision import cached
from annotate.services.studies.setup import get_study


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
    return list(cached(session, study, "assignable_segments", (), lambda: _assignable(session, study)))


def _assignable(session: Session, study: Study) -> list[SegmentRow]:
    counts = dict(
        session.execute(
            select(Assignment.segment_id, func.count())
            .where(Assignment.study_id == study.id)
            .group_by(Assignment.segment_id)
        ).all()
    )
    rows = session.execute(
        select(
            Segment.id,
            Recording.blind_code,
            Segment.index,
            Segment.start_s,
            Segment.end_s,
            Participant.external_id,
            Timepoint.name,
        )
        .join(Recording, Segment.recording_id == Recording.id)
        .outerjoin(Participant, Recording.participant_id == Participant.id)
        .outerjoin(Timepoint, Recording.timepoint_id == Timepoint.id)
        .where(Recording.study_id == study.id, Recording.status == "ready", Recording.purpose == "assessment")
        .order_by(Recording.id, Segment.index)
    ).all()
    return [
        SegmentRow(
            segment_id=seg_id,
            blind_code=code,
            segment_index=index,
            start_s=start_s,
            end_s=end_s,
            participant=participant,
            timepoint=timepoint,
            n_assigned=counts.get(seg_id, 0),
        )
        for seg_id, code, index, start_s, end_s, participant, timepoint in rows
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
                select(func.count())
                .select_from(Assignment)
                .where(Assignment.study_id == study.id, Assignment.rater_id == u.id)
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
    if created and study.status == StudyStatus.SETUP:
        study.status = StudyStatus.RATING.value
    session.flush()
    per_rater = {u.username: len(plan[u.id]) for u in users}
    audit.record(
        session, actor, "assign", study_id=study.id, mode=mode, seed=seed, created=created, per_rater=per_rater
    )
    if created:
        reshuffle_open_items(session, actor, study.id, [u.id for u in users if plan[u.id]], seed=seed)
    return AssignmentSummary(created=created, already_assigned=already, seed=seed, per_rater=per_rater)


@dataclass(frozen=True)
class EngineSummary:
    created_primary: int
    created_reliability: int
    seed: int
    share: float
    load: dict[str, int]  # rater -> segments assigned in this study (all runs)
    share_by_stratum: dict[str, float]  # "Arm A · baseline" -> double-coded share (arms masked until unblinding)
    relaxed_families: int  # families where one rater has two time points (not enough raters)
    films_planned: int


def plan_study(
    session: Session,
    actor: Actor,
    study_key: str,
    raters: list[str],
    *,
    share: float | None = None,
    seed: int | None = None,
    one_timepoint_per_family: bool = True,
) -> EngineSummary:
    """Run the assignment engine on every ready assessment film of the study not yet assigned.

    Existing assignments are kept and counted (loads, shares, family rule), so running it again
    after new films arrive extends the plan without disturbing it.
    """
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    users = []
    for name in raters:
        user = get_user(session, name)
        if user.role != "rater":
            raise ServiceError(f"{user.username} is a {user.role}; only raters can be given segments to rate.")
        users.append(user)
    if not users:
        raise ServiceError("Choose at least one rater.")
    share = float(settings_of(study).double_code_share if share is None else share)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    recs = session.scalars(
        select(Recording)
        .where(Recording.study_id == study.id, Recording.status == "ready", Recording.purpose == "assessment")
        .order_by(Recording.id)
    ).all()
    existing = session.execute(
        select(Assignment, Segment.recording_id)
        .join(Segment, Assignment.segment_id == Segment.id)
        .where(Assignment.study_id == study.id, Assignment.purpose.in_(("primary", "reliability")))
    ).all()
    assigned_films = {rid for a, rid in existing if a.purpose == "primary"}
    rec_by_id = {r.id: r for r in recs}
    labels = arm_labels(study)

    def stratum(rec: Recording) -> tuple[str, str]:
        return (rec.participant.arm.name if rec.participant else "?", rec.timepoint.name if rec.timepoint else "?")

    films = [
        FilmUnit(
            r.id,
            r.participant.external_id if r.participant else f"rec{r.id}",
            *stratum(r),
            tuple(s.id for s in r.segments),
        )
        for r in recs
        if r.id not in assigned_films and r.segments
    ]
    if not films:
        raise ServiceError(f"Every ready assessment film of {study_key} is already assigned; ingest new films first.")
    calibration = session.execute(
        select(Segment.recording_id, Assignment.rater_id)
        .join(Segment, Assignment.segment_id == Segment.id)
        .where(Assignment.study_id == study.id, Assignment.purpose == "calibration")
    ).all()
    # A trainee who saw a film in a calibration set would recognise it: never give it to them again.
    state = ExistingState(excluded={(rid, rater) for rid, rater in calibration})
    ids = {u.id for u in users}
    for a, rid in existing:
        rec = rec_by_id.get(rid)
        if rec is None:
            continue
        if a.rater_id in ids:
            state.load[a.rater_id] = state.load.get(a.rater_id, 0) + 1
        fam = rec.participant.external_id if rec.participant else f"rec{rec.id}"
        state.family_timepoints.setdefault((fam, a.rater_id), set()).add(stratum(rec)[1])
        key = stratum(rec)
        if a.purpose == "reliability":
            state.reliability_segments[key] = state.reliability_segments.get(key, 0) + 1
        else:
            state.stratum_segments[key] = state.stratum_segments.get(key, 0) + 1
    try:
        plan = plan_assignments(
            films,
            [u.id for u in users],
            share=share,
            seed=seed,
            one_timepoint_per_family=one_timepoint_per_family,
            existing=state,
        )
    except ValueError as exc:
        raise ServiceError(str(exc)) from None
    for u in users:
        start = session.scalar(select(func.max(Assignment.order_index)).where(Assignment.rater_id == u.id))
        start = -1 if start is None else start
        for offset, item in enumerate(interleave(plan.queue(u.id), seed=seed + u.id), start=1):
            session.add(
                Assignment(
                    study_id=study.id,
                    rater_id=u.id,
                    segment_id=item.segment_id,
                    scheme_id=study.scheme_id,
                    purpose=item.purpose,
                    order_index=start + offset,
                )
            )
    if study.status == StudyStatus.SETUP:
        study.status = StudyStatus.RATING.value
    session.flush()
    reshuffle_open_items(session, actor, study.id, sorted({i.rater for i in plan.items}), seed=seed)
    name_of = {u.id: u.username for u in users}
    summary = EngineSummary(
        created_primary=sum(i.purpose == "primary" for i in plan.items),
        created_reliability=sum(i.purpose == "reliability" for i in plan.items),
        seed=seed,
        share=share,
        load={name_of[r]: n for r, n in plan.load.items()},
        share_by_stratum={
            f"{labels.get(a, a)} · {t}": round(v, 4) for (a, t), v in sorted(plan.share_by_stratum.items())
        },
        relaxed_families=len(plan.relaxed_families),
        films_planned=len(films),
    )
    audit.record(
        session,
        actor,
        "assign.engine",
        study_id=study.id,
        seed=seed,
        share=share,
        raters=sorted(name_of.values()),
        one_timepoint_per_family=one_timepoint_per_family,
        primary=summary.created_primary,
        reliability=summary.created_reliability,
        relaxed_families=summary.relaxed_families,
    )
    return summary


def _stratum_of(rec: Recording) -> tuple[str, str]:
    return (rec.participant.arm.name if rec.participant else "?", rec.timepoint.name if rec.timepoint else "?")


def reshuffle_open_items(
    session: Session, actor: Actor, study_id: int, rater_ids: list[int], *, seed: int
) -> dict[int, int]:
    """Shuffle each rater's open items of the study together, old and new alike.

    Called whenever items are added to a rater's queue (the plan extended wave by wave, manual
    assignment), so a queue never shows one wave after another: every open item of the study is
    put through :func:`~annotate.services.assignments.plan.interleave` (strata of arm x time point
    interleaved, otherwise random) with ``seed + rater id``, and the items take the queue slots
    (``order_index`` values) that open items held. Done items keep their slots, so what a rater
    has finished stays where it was. The seed is recorded in the audit log (``assign.reshuffle``)
    with the number of items reshuffled per rater. Returns rater id -> items reshuffled.
    """
    moved: dict[int, int] = {}
    for rater_id in sorted(set(rater_ids)):
        rows = session.execute(
            select(Assignment, Recording)
            .join(Segment, Assignment.segment_id == Segment.id)
            .join(Recording, Segment.recording_id == Recording.id)
            .where(
                Assignment.study_id == study_id,
                Assignment.rater_id == rater_id,
                Assignment.status != "done",
                Assignment.purpose != "calibration",
            )
            .order_by(Assignment.order_index, Assignment.id)
        ).all()
        if len(rows) < 2:
            continue
        slots = sorted(a.order_index for a, _rec in rows)
        by_key = {(a.segment_id, a.purpose): a for a, _rec in rows}
        items = [PlannedItem(rater_id, a.segment_id, rec.id, a.purpose, _stratum_of(rec)) for a, rec in rows]
        order = interleave(items, seed=seed + rater_id)
        for slot, item in zip(slots, order, strict=True):
            by_key[(item.segment_id, item.purpose)].order_index = slot
        moved[rater_id] = len(order)
    session.flush()
    if moved:
        names = dict(session.execute(select(User.id, User.username).where(User.id.in_(moved))).all())
        audit.record(
            session,
            actor,
            "assign.reshuffle",
            study_id=study_id,
            seed=seed,
            per_rater={names[r]: n for r, n in moved.items()},
        )
    return moved


@dataclass(frozen=True)
class QueueRow:
    """One item of a rater's queue as a researcher audits it (``annotate queue``)."""

    position: int  # 1 = the first item the rater sees (positions count the rater's whole queue)
    status: str  # open | done
    film_code: str
    segment_index: int  # 1 = the film's first segment
    arm: str  # the real name for those who see the allocation, else the masked label (Arm A …)
    timepoint: str
    purpose: str  # primary | reliability | calibration | consensus


def queue_of(session: Session, actor: Actor, study_key: str, rater: str) -> list[QueueRow]:
    """A rater's queue of one study in the order the rater sees it (the rater page's order).

    Researchers and admins only: it shows arm and time point of each item, so it is for audits
    of the blinding (are the waves and arms interleaved?), never for the rater.
    """
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    user = get_user(session, rater)
    if user.role != "rater":
        raise ServiceError(f"{user.username} is a {user.role}, not a rater: there is no queue to show.")
    from annotate.services.studies.gate import allocation_visible

    labels = {a.name: a.name for a in study.arms} if allocation_visible(actor, study) else arm_labels(study)
    rows = session.execute(
        select(Assignment, Segment, Recording)
        .join(Segment, Assignment.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .where(Assignment.rater_id == user.id, Recording.purpose == "assessment")
        .order_by(Assignment.order_index, Assignment.id)
    ).all()
    out = []
    for pos, (a, seg, rec) in enumerate(rows, start=1):
        if a.study_id != study.id:
            continue
        arm = rec.participant.arm.name if rec.participant else ""
        out.append(
            QueueRow(
                position=pos,
                status="done" if a.status == "done" else "open",
                film_code=rec.blind_code,
                segment_index=seg.index + 1,
                arm=labels.get(arm, arm),
                timepoint=rec.timepoint.name if rec.timepoint else "",
                purpose=a.purpose,
            )
        )
    return out
