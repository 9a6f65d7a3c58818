"""The rater's coded events: add, edit, delete with compare-and-set, and the open-state check at done.

Only the rater an assignment belongs to may touch its events (anyone else gets the same
NotFound as for a missing item, as for scores). Every change is checked against the
assignment's scheme (group, code, kind, modifiers, times inside the segment), decided by one
``UPDATE``/``DELETE ... WHERE id = :id AND version = :v`` statement whose row count says
whether another window changed the event first, and written to the audit log in the same
transaction. The views returned hold the event's own fields only: nothing names the film's
participant, arm or time point.

Times are media times of the film in seconds. A state's offset may stay empty while it runs
(an *open* state); in an exclusive group, starting a state closes the group's open state at
the new onset. :func:`mark_done` refuses while a state is open and names it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Segment, Study, utcnow
from annotate.db.models import Scheme as SchemeRow
from annotate.db.models_events import Event
from annotate.schemes import EventCode, EventGroup
from annotate.services import rating, studies
from annotate.services.accounts import audit
from annotate.services.actor import Actor
from annotate.services.errors import ConflictError, NotFound, PermissionDenied, ReasonRequired, ServiceError
from annotate.services.policy import StudyStatus

TIME_SLACK = 1e-6
"""Seconds by which a time may pass the segment's end (the last frame's media time rounds)."""


@dataclass(frozen=True)
class EventView:
    """One coded event as the rater's page shows it (media times of the film, seconds)."""

    id: int
    group: str
    code: str
    kind: str
    modifiers: tuple[str, ...]
    onset: float
    offset: float | None
    version: int

    @property
    def is_open(self) -> bool:
        """A state without an offset yet."""
        return self.kind == "state" and self.offset is None

    @property
    def duration(self) -> float | None:
        """Offset minus onset for a closed state; None for a point or an open state."""
        return None if self.offset is None else self.offset - self.onset


@dataclass(frozen=True)
class EventCoding:
    """The event groups of an assignment's scheme and the rater's events, sorted by onset."""

    assignment_id: int
    groups: tuple[EventGroup, ...]
    start_s: float
    end_s: float
    editable: bool
    events: tuple[EventView, ...]

    @property
    def open_states(self) -> tuple[EventView, ...]:
        """States still running: to be closed before the item is done."""
        return tuple(e for e in self.events if e.is_open)


class OpenStatesAtDone(ServiceError):
    """The rater tried to mark an item done while states were still running."""

    def __init__(self, open_states: Sequence[EventView]):
        self.open_states = tuple(open_states)
        listed = ", ".join(f"{e.code} from {e.onset:.3f} s" for e in self.open_states[:10])
        more = f" and {len(self.open_states) - 10} more" if len(self.open_states) > 10 else ""
        super().__init__(
            f"{len(self.open_states)} state(s) are still open: {listed}{more}. Stop them (give an offset) "
            "or delete them before marking the item done."
        )


def _own(session: Session, actor: Actor, assignment_id: int) -> Assignment:
    return rating.own_assignment(session, actor, assignment_id)


def _groups(session: Session, a: Assignment) -> tuple[EventGroup, ...]:
    scheme = studies.scheme_model(session.get_one(SchemeRow, a.scheme_id))
    return tuple(scheme.event_groups)


def _code(groups: Sequence[EventGroup], group: str, code: str) -> tuple[EventGroup, EventCode]:
    for g in groups:
        if g.key == group:
            for c in g.codes:
                if c.name == code:
                    return g, c
            raise ServiceError(
                f"Group {group!r} has no code {code!r}; its codes are {', '.join(c.name for c in g.codes)}."
            )
    if not groups:
        raise ServiceError("This item's scheme has no event groups: there is nothing to code as events.")
    raise ServiceError(f"The scheme has no event group {group!r}; its groups are {', '.join(g.key for g in groups)}.")


def _editable(session: Session, a: Assignment, reason: str) -> None:
    study = session.get_one(Study, a.study_id)
    if not StudyStatus(study.status).ratings_editable:
        raise PermissionDenied(f"The study is {study.status}: events can no longer be changed.")
    if a.status == "done" and not reason.strip():
        raise ReasonRequired("This item is marked done: give a reason for the change (it is kept in the audit log).")


def _check_times(seg: Segment, code: EventCode, onset: float, offset: float | None, *, allow_open: bool) -> None:
    for name, value in (("onset", onset), ("offset", offset)):
        if value is not None and (isinstance(value, bool) or not math.isfinite(float(value))):
            raise ServiceError(f"The {name} must be a finite number of seconds; got {value!r}.")
    if onset < seg.start_s - TIME_SLACK or onset > seg.end_s + TIME_SLACK:
        raise ServiceError(
            f"The onset {onset:.3f} s is outside this item ({seg.start_s:.3f} to {seg.end_s:.3f} s of the film)."
        )
    if code.kind == "point":
        if offset is not None:
            raise ServiceError(f"{code.label} is a point event: it has an onset only, no offset.")
        return
    if offset is None:
        if not allow_open:
            raise ServiceError(f"{code.label} is a state: give its offset (when it stopped).")
        return
    if offset < onset:
        raise ServiceError(f"The offset {offset:.3f} s is before the onset {onset:.3f} s; correct one of them.")
    if offset > seg.end_s + TIME_SLACK:
        raise ServiceError(f"The offset {offset:.3f} s is after the end of this item ({seg.end_s:.3f} s of the film).")


def _check_modifiers(code: EventCode, modifiers: Sequence[str]) -> tuple[str, ...]:
    values = tuple(str(m).strip() for m in modifiers)
    unknown = [m for m in values if m not in code.modifiers]
    if unknown:
        allowed = ", ".join(code.modifiers) if code.modifiers else "none"
        raise ServiceError(f"{code.label} has no modifier {unknown[0]!r}; allowed: {allowed}.")
    if len(set(values)) != len(values):
        raise ServiceError(f"A modifier is given twice for {code.label}; give each once.")
    return values


def _view(e: Event, kinds: dict[tuple[str, str], str]) -> EventView:
    return EventView(
        id=e.id,
        group=e.group_key,
        code=e.code,
        kind=kinds.get((e.group_key, e.code), "state" if e.offset_s is not None else "point"),
        modifiers=tuple(e.modifiers or ()),
        onset=e.onset_s,
        offset=e.offset_s,
        version=e.version,
    )


def _kinds(groups: Sequence[EventGroup]) -> dict[tuple[str, str], str]:
    return {(g.key, c.name): c.kind for g in groups for c in g.codes}


def event_coding(session: Session, actor: Actor, assignment_id: int) -> EventCoding:
    """The acting rater's events of one item, with the scheme's event groups."""
    a = _own(session, actor, assignment_id)
    groups = _groups(session, a)
    kinds = _kinds(groups)
    rows = session.scalars(
        select(Event).where(Event.assignment_id == a.id).order_by(Event.onset_s, Event.code, Event.id)
    ).all()
    study = session.get_one(Study, a.study_id)
    return EventCoding(
        assignment_id=a.id,
        groups=groups,
        start_s=a.segment.start_s,
        end_s=a.segment.end_s,
        editable=StudyStatus(study.status).ratings_editable,
        events=tuple(_view(e, kinds) for e in rows),
    )


def add_event(
    session: Session,
    actor: Actor,
    assignment_id: int,
    group: str,
    code: str,
    onset: float,
    offset: float | None = None,
    modifiers: Sequence[str] = (),
    *,
    reason: str = "",
) -> EventView:
    """Code one event (a point, a closed state, or a state that starts now and stays open).

    In an exclusive group, a state's start closes the group's open state at this onset.
    """
    a = _own(session, actor, assignment_id)
    _editable(session, a, reason)
    groups = _groups(session, a)
    g, c = _code(groups, group, code)
    onset = float(onset)
    offset = None if offset is None else float(offset)
    _check_times(a.segment, c, onset, offset, allow_open=True)
    mods = _check_modifiers(c, modifiers)
    now = utcnow()
    if g.exclusive and c.kind == "state":
        states = [x.name for x in g.codes if x.kind == "state"]
        running = session.scalars(
            select(Event).where(
                Event.assignment_id == a.id,
                Event.group_key == g.key,
                Event.code.in_(states),
                Event.offset_s.is_(None),
                Event.onset_s <= onset,
            )
        ).all()
        for other in running:
            closed = session.execute(
                update(Event)
                .where(Event.id == other.id, Event.version == other.version)
                .values(offset_s=onset, version=Event.version + 1, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if closed.rowcount != 1:  # type: ignore[attr-defined]
                raise ConflictError("Another window changed this item's events. Reload the page to see them.")
            audit.record(
                session, actor, "event.close", study_id=a.study_id, assignment_id=a.id, event_id=other.id, offset=onset
            )
    row = Event(
        assignment_id=a.id,
        group_key=g.key,
        code=c.name,
        modifiers=list(mods),
        onset_s=onset,
        offset_s=offset,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "event.add",
        study_id=a.study_id,
        assignment_id=a.id,
        event_id=row.id,
        group=g.key,
        code=c.name,
        onset=onset,
        offset=offset,
        modifiers=list(mods),
        reason=reason.strip(),
    )
    rating.touch_assignment(a)
    session.flush()
    return _view(row, _kinds(groups))


def _event_of(session: Session, actor: Actor, event_id: int) -> tuple[Event, Assignment]:
    e = session.get(Event, event_id)
    if e is None:
        raise NotFound(f"Event {event_id} does not exist (it may have been deleted in another window).")
    a = session.get(Assignment, e.assignment_id)
    if a is None or a.rater_id != actor.user_id:
        raise NotFound(f"Event {event_id} does not exist (it may have been deleted in another window).")
    return e, _own(session, actor, a.id)


_UNSET: object = object()


def edit_event(
    session: Session,
    actor: Actor,
    event_id: int,
    *,
    expected_version: int,
    code: str | None = None,
    onset: float | None = None,
    offset: float | object | None = _UNSET,
    modifiers: Sequence[str] | None = None,
    reason: str = "",
) -> EventView:
    """Change an event's code (within its group), times or modifiers; returns the new view.

    ``expected_version`` is the version the page showed; if another window saved in between,
    ConflictError and nothing changes. ``offset`` left out keeps it; ``None`` clears it.
    """
    e, a = _event_of(session, actor, event_id)
    _editable(session, a, reason)
    groups = _groups(session, a)
    new_code = e.code if code is None else code
    _, c = _code(groups, e.group_key, new_code)
    new_onset = e.onset_s if onset is None else float(onset)
    new_offset: float | None
    if offset is _UNSET:
        new_offset = e.offset_s if c.kind == "state" else None
    else:
        new_offset = None if offset is None else float(offset)  # type: ignore[arg-type]
    _check_times(a.segment, c, new_onset, new_offset, allow_open=True)
    mods = _check_modifiers(c, e.modifiers if modifiers is None else modifiers)
    before = {"code": e.code, "onset": e.onset_s, "offset": e.offset_s, "modifiers": list(e.modifiers or ())}
    result = session.execute(
        update(Event)
        .where(Event.id == e.id, Event.version == expected_version)
        .values(
            code=c.name,
            onset_s=new_onset,
            offset_s=new_offset,
            modifiers=list(mods),
            version=Event.version + 1,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            f"This {e.code} event was changed in another window. Reload the page to see the current events."
        )
    audit.record(
        session,
        actor,
        "event.edit",
        study_id=a.study_id,
        assignment_id=a.id,
        event_id=e.id,
        before=before,
        after={"code": c.name, "onset": new_onset, "offset": new_offset, "modifiers": list(mods)},
        reason=reason.strip(),
    )
    rating.touch_assignment(a)
    session.flush()
    session.refresh(e)
    return _view(e, _kinds(groups))


def delete_event(session: Session, actor: Actor, event_id: int, *, expected_version: int, reason: str = "") -> None:
    """Delete an event the page showed at ``expected_version`` (ConflictError if it changed since)."""
    e, a = _event_of(session, actor, event_id)
    _editable(session, a, reason)
    before = {"group": e.group_key, "code": e.code, "onset": e.onset_s, "offset": e.offset_s}
    result = session.execute(
        delete(Event)
        .where(Event.id == e.id, Event.version == expected_version)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            f"This {e.code} event was changed in another window. Reload the page to see the current events."
        )
    session.expunge(e)
    audit.record(
        session,
        actor,
        "event.delete",
        study_id=a.study_id,
        assignment_id=a.id,
        event_id=event_id,
        before=before,
        reason=reason.strip(),
    )
    session.flush()


def mark_done(session: Session, actor: Actor, assignment_id: int) -> None:
    """Finish an event-coding item: refused, naming them, while states are open; then as for scores."""
    coding = event_coding(session, actor, assignment_id)
    if coding.open_states:
        raise OpenStatesAtDone(coding.open_states)
    rating.mark_done(session, actor, assignment_id)


CodingAction = Literal["start", "stop", "point"]


@dataclass(frozen=True)
class CodingOp:
    """One key press in the rater's player: start or stop a state, or mark a point, at media time ``t``.

    ``op_id`` is the browser's random id for the press; the page applies each id once, so a
    press the browser sends again (it resends until acknowledged) is never coded twice.
    """

    op_id: str
    action: CodingAction
    code: str
    t: float


def apply_coding_op(session: Session, actor: Actor, assignment_id: int, op: CodingOp, *, reason: str = "") -> EventView:
    """Code one key press on an item: ``point`` adds a point, ``start`` opens a state (closing the
    exclusive group's running state), ``stop`` gives the running state of that code its offset.

    Raises ServiceError naming the code when the press makes no sense (a stop with nothing
    running, a stop before the state's onset, a start of a state already running).
    """
    a = _own(session, actor, assignment_id)
    groups = _groups(session, a)
    group = next((g for g in groups for c in g.codes if c.name == op.code), None)
    if group is None:
        raise ServiceError(f"This item's scheme has no code {op.code!r}.")
    code = group.code(op.code)
    expected = "point" if code.kind == "point" else ("start", "stop")
    if op.action not in expected:
        raise ServiceError(f"{code.label} is a {code.kind}: a key press cannot {op.action} it.")
    if op.action == "point":
        return add_event(session, actor, assignment_id, group.key, code.name, op.t, reason=reason)
    running = session.scalars(
        select(Event)
        .where(Event.assignment_id == a.id, Event.code == code.name, Event.offset_s.is_(None))
        .order_by(Event.onset_s.desc())
    ).first()
    if op.action == "start":
        if running is not None:
            raise ServiceError(
                f"{code.label} is already running since {running.onset_s:.3f} s; press its key to stop it."
            )
        return add_event(session, actor, assignment_id, group.key, code.name, op.t, None, reason=reason)
    if running is None:
        raise ServiceError(f"{code.label} is not running (another window or key may have stopped it); nothing to stop.")
    if op.t <= running.onset_s:
        raise ServiceError(
            f"{code.label} started at {running.onset_s:.3f} s and cannot stop there or earlier, at {op.t:.3f} s; "
            "play on past its start, or edit the event in the list."
        )
    return edit_event(session, actor, running.id, expected_version=running.version, offset=op.t, reason=reason)
