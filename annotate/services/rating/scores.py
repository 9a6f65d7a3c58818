"""The rater's side: their own queue, one item at a time, scores saved at once.

Blinding lives here: the views returned to a rater are built from the assignment, the segment
and the recording's blind code only. They have no field for participant, arm, time point,
file name or date, so no page can leak what it was never given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, Row, Select, Table, and_, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import ASSIGNMENT_STATUSES, Assignment, Rating, RatingHistory, Recording, Segment, Study, utcnow
from annotate.db.models import Scheme as SchemeRow
from annotate.reports.csvio import format_number
from annotate.schemes import Scheme as SchemeModel
from annotate.services import rating
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ConflictError, NotFound, PermissionDenied, ReasonRequired, ServiceError
from annotate.services.films.tokens import sign_media_url
from annotate.services.policy import StudyStatus
from annotate.services.studies.setup import scheme_model

NOTE = "(note)"
_RATING = cast(Table, Rating.__table__)
_ASSIGNMENT = cast(Table, Assignment.__table__)
log = logging.getLogger(__name__)


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
    study_open: bool = True  # the study still takes ratings (not locked)


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
        """The first item in queue order that is not done, in a study that still takes ratings."""
        return next((i for i in self.items if i.status != "done" and i.study_open), None)


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


class _Queue:
    """One rater's queue as conditions on the assignment table alone (served by its indexes).

    Films that are not for assessment never reach a rater; the few segments of such films are
    read once and excluded by id, so counting and ranking a queue of 80,000 items needs no join.
    """

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session, self.actor = session, actor
        self.excluded = list(
            session.scalars(
                select(Segment.id)
                .join(Recording, Segment.recording_id == Recording.id)
                .where(Recording.purpose != "assessment")
            )
        )

    def own(self) -> list[ColumnElement[bool]]:
        conds = [Assignment.rater_id == self.actor.user_id]
        if self.excluded:
            conds.append(Assignment.segment_id.not_in(self.excluded))
        return conds

    def _count_by_status(self, *where: ColumnElement[bool]) -> dict[str, int]:
        """Counts per status: an index-only count, less the (rare) items on excluded segments."""
        mine = Assignment.rater_id == self.actor.user_id
        rows = self.session.execute(
            select(Assignment.status, func.count()).where(mine, *where).group_by(Assignment.status)
        ).all()
        counts = {status: int(n) for status, n in rows}
        if self.excluded:
            for status, n in self.session.execute(
                select(Assignment.status, func.count())
                .where(mine, Assignment.segment_id.in_(self.excluded), *where)
                .group_by(Assignment.status)
            ).all():
                counts[status] -= int(n)
        return counts

    def counts(self) -> tuple[int, int]:
        by_status = self._count_by_status()
        return sum(by_status.values()), by_status.get("done", 0)

    def rank(self, key: tuple[int, int]) -> int:
        """1-based position of an item in the queue (items before it in queue order, plus one)."""
        order_index, aid = key
        before = or_(
            Assignment.order_index < order_index, and_(Assignment.order_index == order_index, Assignment.id < aid)
        )
        return sum(self._count_by_status(before).values()) + 1

    def rows(self) -> Select:
        """The display fields of queue rows (the film's segment count aggregated in SQL)."""
        n_segments = (
            select(func.count(Segment.id))
            .where(Segment.recording_id == Recording.id)
            .correlate(Recording)
            .scalar_subquery()
        )
        return (
            select(
                Assignment.id,
                Assignment.status,
                Assignment.order_index,
                Recording.blind_code,
                Segment.index,
                n_segments.label("n_segments"),
                Segment.start_s,
                Segment.end_s,
                Study.title,
                Study.status.in_(_editable_statuses()).label("study_open"),
            )
            .join(Segment, Assignment.segment_id == Segment.id)
            .join(Recording, Segment.recording_id == Recording.id)
            .join(Study, Assignment.study_id == Study.id)
            .where(*self.own())
        )

    def row(self, aid: int) -> Row | None:
        return self.session.execute(self.rows().where(Assignment.id == aid)).first()

    def first_open(self, after: tuple[int, int] | None, exclude: int | None) -> Row | None:
        """The first item not done, of a study that takes ratings, after ``after`` in queue order."""
        open_statuses = [x for x in ASSIGNMENT_STATUSES if x != "done"]
        query = select(Assignment.id).where(
            *self.own(),
            Assignment.status.in_(open_statuses),
            Assignment.study_id.in_(select(Study.id).where(Study.status.in_(_editable_statuses()))),
            Assignment.id != (exclude or -1),
        )
        if after is not None:
            query = query.where(_after(after))
        # "+ 0": order by the value, so the planner reads the (rater, status, order) index and
        # sorts the few open items, instead of walking the whole queue in order past the done ones.
        aid = self.session.scalar(query.order_by(Assignment.order_index + 0, Assignment.id).limit(1))
        return None if aid is None else self.row(aid)

    def item(self, row: Row) -> QueueItem:
        return _item(row, self.rank(_key(row)))


def _editable_statuses() -> list[str]:
    return [s.value for s in StudyStatus if s.ratings_editable]


def _queue_order() -> tuple:
    """The queue's fixed random order, as stored by the assignment engine."""
    return (Assignment.order_index, Assignment.id)


def _after(key: tuple[int, int]) -> ColumnElement[bool]:
    order_index, aid = key
    return or_(Assignment.order_index > order_index, and_(Assignment.order_index == order_index, Assignment.id > aid))


def _key(row: Row) -> tuple[int, int]:
    return (row[2], row[0])


def _item(row: Row, position: int) -> QueueItem:
    aid, status, _order, code, index, n_segments, start_s, end_s, title, study_open = row
    return QueueItem(
        assignment_id=aid,
        position=position,
        blind_code=code,
        segment_index=index + 1,
        n_segments=n_segments,
        start_s=start_s,
        end_s=end_s,
        status=status,
        study_title=title,
        study_open=bool(study_open),
    )


def rater_queue(session: Session, actor: Actor) -> RaterQueue:
    """The acting rater's own assignments, in their fixed random order (two SQL statements).

    A page shows :func:`rater_queue_page` instead: it reads a window of the queue, not all of it.
    """
    require_role(actor, "rater")
    rows = session.execute(_Queue(session, actor).rows().order_by(*_queue_order())).all()
    return RaterQueue([_item(row, pos) for pos, row in enumerate(rows, start=1)])


@dataclass(frozen=True)
class QueuePage:
    """What the rater's page shows of the queue: counts, the current item and a window around it.

    ``current`` is None when nothing is left to rate and no item was asked for: every item is
    done (``all_done``, the "All done" state) or what is left belongs to a locked study; the
    window then opens the queue, so done items can still be reviewed.
    ``next_open`` is the first item after the current one (wrapping round) that is not done and
    whose study still takes ratings: "next" never lands on a done or locked item.
    """

    total: int
    done: int
    current: QueueItem | None
    items: list[QueueItem]  # the window, in queue order, with their positions in the whole queue
    previous_id: int | None
    following_id: int | None
    next_open: QueueItem | None
    studies: tuple[str, ...]  # titles of the studies in the queue (several studies: items are named by study)

    @property
    def all_done(self) -> bool:
        return self.total > 0 and self.done == self.total


def next_open_item(session: Session, actor: Actor, after: int | None = None) -> QueueItem | None:
    """The first open item of a study that takes ratings, after ``after`` in queue order (wrapping round).

    None when nothing is left to rate. A fixed number of statements, whatever the queue's length.
    """
    require_role(actor, "rater")
    q = _Queue(session, actor)
    key = None
    if after is not None:
        own = session.execute(
            select(Assignment.order_index, Assignment.id).where(
                Assignment.id == after, Assignment.rater_id == actor.user_id
            )
        ).first()
        key = (own[0], own[1]) if own else None
    row = q.first_open(key, after)
    if row is None and key is not None:
        row = q.first_open(None, after)
    return None if row is None else q.item(row)


def rater_queue_page(
    session: Session, actor: Actor, assignment_id: int | None = None, *, window: int = 20
) -> QueuePage:
    """The rater page's view of the queue in a fixed number of statements, whatever its length.

    ``assignment_id`` is the item the rater is on (kept across reruns); an item not in the
    acting rater's queue is ignored and the first open item is shown instead.
    """
    require_role(actor, "rater")
    q = _Queue(session, actor)
    total, done = q.counts()
    mine = select(Assignment.id).where(Assignment.study_id == Study.id, Assignment.rater_id == actor.user_id)
    titles = tuple(session.scalars(select(Study.title).where(mine.exists()).order_by(Study.title)))
    row = q.row(assignment_id) if assignment_id is not None else None
    if row is None:
        row = q.first_open(None, None)
    pos = q.rank(_key(row)) if row is not None else 1  # nothing open: the window opens the queue
    start = max(0, pos - 1 - window)
    ids = list(
        session.scalars(
            select(Assignment.id).where(*q.own()).order_by(*_queue_order()).offset(start).limit(2 * window + 1)
        )
    )
    rows = session.execute(q.rows().where(Assignment.id.in_(ids)).order_by(*_queue_order())).all()
    items = [_item(r, p) for p, r in enumerate(rows, start=start + 1)]
    if row is None:
        return QueuePage(total, done, None, items, None, None, None, titles)
    current = next(i for i in items if i.assignment_id == row[0])
    k = items.index(current)
    nxt = q.first_open(_key(row), row[0]) or q.first_open(None, row[0])
    return QueuePage(
        total=total,
        done=done,
        current=current,
        items=items,
        previous_id=items[k - 1].assignment_id if k > 0 else None,
        following_id=items[k + 1].assignment_id if k + 1 < len(items) else None,
        next_open=q.item(nxt) if nxt else None,
        studies=titles,
    )


def open_item(session: Session, actor: Actor, settings: Settings, assignment_id: int) -> RatingItem:
    a = own_assignment(session, actor, assignment_id)
    seg = a.segment
    rec = seg.recording
    if rec.purpose != "assessment" or rec.status != "ready":
        raise NotFound(f"Item {assignment_id} is not available for rating.")
    study = session.get_one(Study, a.study_id)
    scheme = scheme_model(session.get_one(SchemeRow, a.scheme_id))
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
        editable=StudyStatus(study.status).ratings_editable,
        scheme=scheme,
        values={d.name: (ratings[d.name].value if d.name in ratings else None) for d in scheme.dimensions},
        versions={d.name: (ratings[d.name].version if d.name in ratings else 0) for d in scheme.dimensions},
        note=a.note,
        note_version=a.note_version,
        media_url=sign_media_url(settings.secret_key(), rec.blind_code, actor.account_id, settings.media_token_minutes),
    )


def touch_assignment(a: Assignment) -> None:
    """The rater has started on this item: ``assigned`` becomes ``in_progress``, the first activity is noted."""
    if a.status == "assigned":
        a.status = "in_progress"
    if a.first_activity_at is None:
        a.first_activity_at = utcnow()


def _check_editable(session: Session, a: Assignment, reason: str) -> None:
    study = session.get_one(Study, a.study_id)
    if not StudyStatus(study.status).ratings_editable:
        raise PermissionDenied(f"The study is {study.status}: ratings can no longer be changed.")
    if a.status == "done" and not reason.strip():
        raise ReasonRequired("This segment is marked done: give a reason for the change (it is kept in the history).")


class ScoreConflict(ConflictError):
    """A save lost the race: the page's version is not the stored one (another window saved first).

    ``current_value`` and ``current_version`` are what is stored now, so the page can show them.
    """

    def __init__(self, message: str, *, current_value: float | str | None, current_version: int):
        super().__init__(message)
        self.current_value = current_value
        self.current_version = current_version


def format_score(value: float) -> str:
    """A score as text without losing precision (whole numbers without ``.0``; else Python's ``repr``).

    Examples
    --------
    >>> format_score(3.0), format_score(2.5), format_score(0.1 + 0.2), format_score(-0.0)
    ('3', '2.5', '0.30000000000000004', '-0')
    """
    return format_number(value)


def _current_rating(session: Session, assignment_id: int, dimension: str) -> tuple[float | None, int] | None:
    row = session.execute(
        select(Rating.value, Rating.version).where(Rating.assignment_id == assignment_id, Rating.dimension == dimension)
    ).first()
    return None if row is None else (row[0], row[1])


def _rating_conflict(label: str, current: tuple[float | None, int] | None) -> ScoreConflict:
    value, version = current if current is not None else (None, 0)
    shown = "no score" if value is None else format_score(value)
    return ScoreConflict(
        f"{label} was changed in another window (it is now {shown}, version {version}); your change was not "
        "saved. Reload the page to see the current scores.",
        current_value=value,
        current_version=version,
    )


def _db_refusal(exc: DBAPIError, what: str) -> ServiceError:
    """A database refusal (lock timeout, serialisation failure, unique key) as a message for the page."""
    log.warning("save refused by the database: %s", type(exc.orig).__name__)
    return ConflictError(
        f"{what} could not be saved because another save of the same item was in progress; "
        "reload the page and save again."
    )


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
    """Save one score at once, compare-and-set; returns the new version.

    ``expected_version`` is the version the rater's page showed (0 = no score yet). One statement
    decides: the first score is ``INSERT ... ON CONFLICT DO NOTHING`` and a change is
    ``UPDATE ... WHERE version = expected``; when no row is written, another window saved in between
    and :class:`ScoreConflict` (a ConflictError) names the stored value and version. Nothing is
    overwritten, on SQLite and PostgreSQL alike.
    """
    a = own_assignment(session, actor, assignment_id)
    _check_editable(session, a, reason)
    scheme = scheme_model(session.get_one(SchemeRow, a.scheme_id))
    try:
        dim = scheme.dimension(dimension)
    except (KeyError, ValueError) as exc:
        raise ServiceError(str(exc)) from None
    if value is not None:
        try:
            value = float(dim.check_value(value))
        except ValueError as exc:
            raise ServiceError(str(exc)) from None
    current = _current_rating(session, a.id, dimension)
    if (current[1] if current else 0) != expected_version:
        raise _rating_conflict(dim.label, current)
    old = current[0] if current else None
    if current is not None and old == value:
        return expected_version
    now = utcnow()
    try:
        if current is None:
            ins = _insert_for(session)(_RATING).values(
                assignment_id=a.id,
                segment_id=a.segment_id,
                rater_id=actor.user_id,
                scheme_id=a.scheme_id,
                dimension=dimension,
                value=value,
                version=1,
                changed_after_lock=False,
                created_at=now,
                updated_at=now,
            )
            won = session.execute(
                ins.on_conflict_do_nothing(index_elements=["assignment_id", "dimension"]).returning(_RATING.c.id)
            ).first()
            new_version = 1
        else:
            won = session.execute(
                update(_RATING)
                .where(
                    _RATING.c.assignment_id == a.id,
                    _RATING.c.dimension == dimension,
                    _RATING.c.version == expected_version,
                )
                .values(value=value, version=expected_version + 1, updated_at=now)
                .returning(_RATING.c.id)
            ).first()
            new_version = expected_version + 1
    except DBAPIError as exc:
        raise _db_refusal(exc, dim.label) from None
    if won is None:
        raise _rating_conflict(dim.label, _current_rating(session, a.id, dimension))
    _expire_ratings(session, a.id)
    session.add(
        RatingHistory(
            assignment_id=a.id,
            dimension=dimension,
            old_value=None if old is None else format_score(old),
            new_value=None if value is None else format_score(value),
            changed_by=actor.user_id,
            reason=reason.strip(),
        )
    )
    touch_assignment(a)
    try:
        session.flush()
    except DBAPIError as exc:
        raise _db_refusal(exc, dim.label) from None
    audit.record(
        session,
        actor,
        "rating.change",
        study_id=a.study_id,
        assignment=a.id,
        segment=a.segment_id,
        dimension=dimension,
        old=old,
        new=value,
        version=new_version,
        reason=reason.strip(),
    )
    return new_version


def _insert_for(session: Session):
    """The dialect's INSERT (SQLite and PostgreSQL both have ``ON CONFLICT DO NOTHING``)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _expire_ratings(session: Session, assignment_id: int) -> None:
    """ORM copies of rows changed by a Core statement are stale: reload them on next access."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Rating) and obj.assignment_id == assignment_id:
            session.expire(obj)


def save_note(
    session: Session, actor: Actor, assignment_id: int, note: str, *, expected_version: int, reason: str = ""
) -> int:
    """Save the segment note, compare-and-set on ``note_version`` (as :func:`save_rating`); the note is
    stored exactly as typed (no trimming)."""
    a = own_assignment(session, actor, assignment_id)
    _check_editable(session, a, reason)
    session.refresh(a, ["note", "note_version"])
    if a.note_version != expected_version:
        raise ScoreConflict(
            f"The note was changed in another window (it is now version {a.note_version}); your change was not "
            "saved. Reload the page to see it.",
            current_value=a.note,
            current_version=a.note_version,
        )
    if note == a.note:
        return a.note_version
    old = a.note
    table = _ASSIGNMENT
    try:
        won = session.execute(
            update(table)
            .where(table.c.id == a.id, table.c.note_version == expected_version)
            .values(note=note, note_version=expected_version + 1)
            .returning(table.c.id)
        ).first()
    except DBAPIError as exc:
        raise _db_refusal(exc, "The note") from None
    if won is None:
        session.refresh(a, ["note", "note_version"])
        raise ScoreConflict(
            f"The note was changed in another window (it is now version {a.note_version}); your change was not "
            "saved. Reload the page to see it.",
            current_value=a.note,
            current_version=a.note_version,
        )
    session.refresh(a, ["note", "note_version"])
    session.add(
        RatingHistory(
            assignment_id=a.id,
            dimension=NOTE,
            old_value=old,
            new_value=note,
            changed_by=actor.user_id,
            reason=reason.strip(),
        )
    )
    touch_assignment(a)
    try:
        session.flush()
    except DBAPIError as exc:
        raise _db_refusal(exc, "The note") from None
    audit.record(
        session,
        actor,
        "note.change",
        study_id=a.study_id,
        assignment=a.id,
        segment=a.segment_id,
        old=old,
        new=note,
        version=a.note_version,
        reason=reason.strip(),
    )
    return a.note_version


def mark_done(session: Session, actor: Actor, assignment_id: int) -> None:
    """Finish a segment; every dimension must have a score."""
    a = own_assignment(session, actor, assignment_id)
    _check_editable(session, a, reason="(marking done)")
    scheme = scheme_model(session.get_one(SchemeRow, a.scheme_id))
    scored = {
        r.dimension for r in session.scalars(select(Rating).where(Rating.assignment_id == a.id)) if r.value is not None
    }
    missing = [d.label for d in scheme.dimensions if d.name not in scored]
    if missing:
        raise ServiceError(f"Score every scale before marking the segment done; missing: {', '.join(missing)}.")
    if a.status != "done":
        a.status, a.done_at = "done", utcnow()
        session.flush()
        audit.record(session, actor, "rating.done", study_id=a.study_id, assignment=a.id, segment=a.segment_id)
        rating.open_tasks_after_done(session, a.segment_id)
