"""The rater's side: their own queue, one item at a time, scores saved at once.

Blinding lives here: the views returned to a rater are built from the assignment, the segment
and the recording's blind code only. They have no field for participant, arm, time point,
file name or date, so no page can leak what it was never given.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import Assignment, Rating, RatingHistory, Recording, Segment, Study, utcnow
from annotate.db.models import Scheme as SchemeRow
from annotate.schemes import Scheme as SchemeModel
from annotate.services import consensus
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ConflictError, NotFound, PermissionDenied, ReasonRequired, ServiceError
from annotate.services.studies import scheme_model
from annotate.services.tokens import sign_media_url

NOTE = "(note)"
_EDITABLE_STATUSES = ("setup", "rating")


@dataclass(frozen=True)
class QueueItem:
    assignment_id: int
    position: int
    blind_code: str
    segment_index: int
    n_segments: int
    start_s: float
    end_s: float
    status: str
    study_title: str


@dataclass(frozen=True)
class RaterQueue:
    items: list[QueueItem]

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def done(self) -> int:
        return sum(i.status == "done" for i in self.items)

    def next_open(self) -> QueueItem | None:
        """The first item in queue order that is not done."""
        return next((i for i in self.items if i.status != "done"), None)


@dataclass(frozen=True)
class RatingItem:
    assignment_id: int
    blind_code: str
    segment_index: int
    n_segments: int
    start_s: float
    end_s: float
    film_duration_s: float
    fps: float | None
    status: str
    editable: bool
    scheme: SchemeModel
    values: dict[str, float | None]
    versions: dict[str, int]
    note: str
    note_version: int
    media_url: str


def own_assignment(session: Session, actor: Actor, assignment_id: int) -> Assignment:
    """The acting rater's assignment; anyone else's (or a missing one) is NotFound alike."""
    require_role(actor, "rater")
    a = session.get(Assignment, assignment_id)
    # The same message for "missing" and "someone else's": do not confirm what exists.
    if a is None or a.rater_id != actor.user_id:
        raise NotFound(f"Item {assignment_id} is not in your queue.")
    return a


def rater_queue(session: Session, actor: Actor) -> RaterQueue:
    """The acting rater's own assignments, in their fixed random order."""
    require_role(actor, "rater")
    rows = session.execute(
        select(Assignment, Segment, Recording, Study)
        .join(Segment, Assignment.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .join(Study, Assignment.study_id == Study.id)
        .where(Assignment.rater_id == actor.user_id, Recording.purpose == "assessment")
        .order_by(Assignment.order_index, Assignment.id)
    ).all()
    items = [
        QueueItem(
            assignment_id=a.id,
            position=pos,
            blind_code=rec.blind_code,
            segment_index=seg.index + 1,
            n_segments=len(rec.segments),
            start_s=seg.start_s,
            end_s=seg.end_s,
            status=a.status,
            study_title=study.title,
        )
        for pos, (a, seg, rec, study) in enumerate(rows, start=1)
    ]
    return RaterQueue(items)


def open_item(session: Session, actor: Actor, settings: Settings, assignment_id: int) -> RatingItem:
    a = own_assignment(session, actor, assignment_id)
    seg = a.segment
    rec = seg.recording
    if rec.purpose != "assessment" or rec.status != "ready":
        raise NotFound(f"Item {assignment_id} is not available for rating.")
    study = session.get(Study, a.study_id)
    scheme = scheme_model(session.get(SchemeRow, a.scheme_id))
    ratings = {r.dimension: r for r in session.scalars(select(Rating).where(Rating.assignment_id == a.id))}
    return RatingItem(
        assignment_id=a.id,
        blind_code=rec.blind_code,
        segment_index=seg.index + 1,
        n_segments=len(rec.segments),
        start_s=seg.start_s,
        end_s=seg.end_s,
        film_duration_s=rec.duration_s or seg.end_s,
        fps=rec.fps,
        status=a.status,
        editable=study.status in _EDITABLE_STATUSES,
        scheme=scheme,
        values={d.name: (ratings[d.name].value if d.name in ratings else None) for d in scheme.dimensions},
        versions={d.name: (ratings[d.name].version if d.name in ratings else 0) for d in scheme.dimensions},
        note=a.note,
        note_version=a.note_version,
        media_url=sign_media_url(settings.secret_key(), rec.blind_code, actor.user_id, settings.media_token_minutes),
    )


def _touch(a: Assignment) -> None:
    if a.status == "assigned":
        a.status = "in_progress"
    if a.first_activity_at is None:
        a.first_activity_at = utcnow()


def _check_editable(session: Session, a: Assignment, reason: str) -> None:
    study = session.get(Study, a.study_id)
    if study.status not in _EDITABLE_STATUSES:
        raise PermissionDenied(f"The study is {study.status}: ratings can no longer be changed.")
    if a.status == "done" and not reason.strip():
        raise ReasonRequired("This segment is marked done: give a reason for the change (it is kept in the history).")


def save_rating(
    session: Session,
    actor: Actor,
    assignment_id: int,
    dimension: str,
    value: float | None,
    *,
    expected_version: int,
    reason: str = "",
) -> int:
    """Save one score at once; returns the new version.

    ``expected_version`` is the version the rater's page showed (0 = no score yet). When another
    window saved in between, ConflictError is raised and nothing is overwritten.
    """
    a = own_assignment(session, actor, assignment_id)
    _check_editable(session, a, reason)
    scheme = scheme_model(session.get(SchemeRow, a.scheme_id))
    try:
        dim = scheme.dimension(dimension)
    except (KeyError, ValueError) as exc:
        raise ServiceError(str(exc)) from None
    if value is not None:
        try:
            value = float(dim.check_value(value))
        except ValueError as exc:
            raise ServiceError(str(exc)) from None
    row = session.scalar(select(Rating).where(Rating.assignment_id == a.id, Rating.dimension == dimension))
    current = row.version if row else 0
    if current != expected_version:
        shown = "no score" if row is None or row.value is None else f"{row.value:g}"
        raise ConflictError(
            f"{dim.label} was changed in another window (it is now {shown}). Reload the page to see the current scores."
        )
    old = row.value if row else None
    if row is not None and old == value:
        return current
    now = utcnow()
    if row is None:
        row = Rating(
            assignment_id=a.id,
            segment_id=a.segment_id,
            rater_id=actor.user_id,
            scheme_id=a.scheme_id,
            dimension=dimension,
            value=value,
            version=1,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    else:
        row.value, row.version, row.updated_at = value, row.version + 1, now
    session.add(
        RatingHistory(
            assignment_id=a.id,
            dimension=dimension,
            old_value=None if old is None else f"{old:g}",
            new_value=None if value is None else f"{value:g}",
            changed_by=actor.user_id,
            reason=reason.strip(),
        )
    )
    _touch(a)
    session.flush()
    return row.version


def save_note(
    session: Session, actor: Actor, assignment_id: int, note: str, *, expected_version: int, reason: str = ""
) -> int:
    a = own_assignment(session, actor, assignment_id)
    _check_editable(session, a, reason)
    if a.note_version != expected_version:
        raise ConflictError("The note was changed in another window. Reload the page to see it.")
    if note == a.note:
        return a.note_version
    session.add(
        RatingHistory(
            assignment_id=a.id, dimension=NOTE, old_value=a.note, new_value=note,
            changed_by=actor.user_id, reason=reason.strip(),
        )
    )
    a.note, a.note_version = note, a.note_version + 1
    _touch(a)
    session.flush()
    return a.note_version


def mark_done(session: Session, actor: Actor, assignment_id: int) -> None:
    """Finish a segment; every dimension must have a score."""
    a = own_assignment(session, actor, assignment_id)
    _check_editable(session, a, reason="(marking done)")
    scheme = scheme_model(session.get(SchemeRow, a.scheme_id))
    scored = {
        r.dimension for r in session.scalars(select(Rating).where(Rating.assignment_id == a.id)) if r.value is not None
    }
    missing = [d.label for d in scheme.dimensions if d.name not in scored]
    if missing:
        raise ServiceError(f"Score every scale before marking the segment done; missing: {', '.join(missing)}.")
    if a.status != "done":
        a.status, a.done_at = "done", utcnow()
        session.flush()
        consensus.open_tasks_after_done(session, a.segment_id)
