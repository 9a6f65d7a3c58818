"""Coded events in and out (issue 19): the long events CSV, BORIS's tabular events, ELAN tiers.

Exports (researchers; blinded: film codes, never a participant, arm, time point or file name)
--------------------------------------------------------------------------------------------
``events`` — one row per done event: ``study, film, rater, group, code, modifiers, onset,
offset, duration`` (seconds of the film; modifiers joined by ``|``; offset and duration empty
for a point), written through :func:`annotate.reports.csvio.write_rows`.

``boris-events`` — BORIS's tabular events layout (the columns of its *Export events*: one
observation per film and rater, id ``<film>/<rater>``; a state is a START and a STOP row, a
point a POINT row; ``Behavioral category`` = our group; ``Modifier #k`` columns).

``elan-events`` — one .eaf per film (zip), one tier ``<rater>/<group>`` per rater and group,
annotation value ``code`` or ``code|modifier|...``; a point is a one-millisecond annotation.

Imports (``annotate import events FILE --study KEY --format csv|boris|elan``)
----------------------------------------------------------------------------
Strict and all-or-nothing: every row is checked (film of the study, rater account, group and
code of the scheme, point or state as the scheme says, modifiers allowed, times inside one
segment of the film) and any problem rejects the file naming its row (header = row 1; for
ELAN the tier and annotation number). Events land on the rater's assignment of the segment
holding the onset (created, and marked done, when missing); an event already present
unchanged is skipped, so importing a file twice changes nothing. For BORIS and ELAN files the
film and rater come from ``--film`` / ``--rater`` or from the observation id (``<film>/<rater>``)
or tier name (``<rater>/<group>``).
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Recording, Segment, User, utcnow
from annotate.db.models_events import Event
from annotate.reports.csvio import read_csv_rows, write_rows
from annotate.schemes import EventCode, EventGroup
from annotate.services import events
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ImportRejected, RowError, ServiceError
from annotate.services.exchange.elan import _eaf_document, _parse
from annotate.services.policy import StudyStatus
from annotate.services.studies.setup import get_study

EVENTS_COLUMNS = ["study", "film", "rater", "group", "code", "modifiers", "onset", "offset", "duration"]
MODIFIER_SEPARATOR = "|"
IMPORT_FORMATS = ("csv", "boris", "elan")
TIME_SLACK = 1e-6
POINT_MS = 0.001  # an ELAN annotation needs a length; a point event gets one millisecond
BORIS_FIXED = [
    "Observation id",
    "Observation date",
    "Description",
    "Observation duration",
    "Observation type",
    "Source",
    "Time offset (s)",
    "Media duration (s)",
    "FPS",
    "Subject",
    "Behavior",
    "Behavioral category",
]
BORIS_TAIL = ["Behavior type", "Time", "Media file name", "Image index", "Image file path", "Comment"]


# ---------------------------------------------------------------- exports


def _join(modifiers: Sequence[str]) -> str:
    return MODIFIER_SEPARATOR.join(modifiers)


def write_events_csv(session: Session, actor: Actor, study_key: str, out: TextIO, *, scheme: str | None = None) -> int:
    """The study's done events as the long CSV; returns the number of rows."""
    found = events.study_events(session, actor, study_key, scheme=scheme)
    rows = (
        [r.study, r.blind_code, r.rater, r.group, r.code, _join(r.modifiers), r.onset, r.offset, r.duration]
        for r in found.rows
    )
    n = write_rows(out, EVENTS_COLUMNS, rows)
    study = get_study(session, study_key)
    audit.record(session, actor, "export.events", study_id=study.id, rows=n, scheme=found.scheme_key)
    return n


def write_event_arms_csv(
    session: Session,
    actor: Actor,
    study_key: str,
    out: TextIO,
    *,
    scheme: str | None = None,
    masked: bool | None = None,
) -> int:
    """Per arm and time point, each code's rate, share of time and mean bout (masked before unblinding)."""
    found = events.arm_event_summaries(session, actor, study_key, scheme=scheme, masked=masked)
    n = write_rows(out, list(events.EVENT_ARMS_COLUMNS), iter(found.records()))
    study = get_study(session, study_key)
    audit.record(
        session, actor, "export.event_arms", study_id=study.id, rows=n, scheme=found.scheme_key, masked=found.masked
    )
    return n


def boris_events_csv(session: Session, actor: Actor, study_key: str, *, scheme: str | None = None) -> str:
    """The study's done events in BORIS's tabular events layout (CSV text)."""
    found = events.study_events(session, actor, study_key, scheme=scheme)
    study = get_study(session, study_key)
    durations = dict(
        session.execute(select(Recording.blind_code, Recording.duration_s).where(Recording.study_id == study.id)).all()
    )
    n_mods = max((len(r.modifiers) for r in found.rows), default=0)
    header = [*BORIS_FIXED, *(f"Modifier #{k + 1}" for k in range(n_mods)), *BORIS_TAIL]
    records: list[tuple[tuple[str, str, float, int], list[object]]] = []
    for r in found.rows:
        obs = f"{r.blind_code}/{r.rater}"
        mods = [*r.modifiers, *([""] * (n_mods - len(r.modifiers)))]
        marks = [("POINT", r.onset, 1)] if r.kind == "point" or r.offset is None else [("START", r.onset, 1)]
        if r.kind == "state" and r.offset is not None:
            marks.append(("STOP", r.offset, 0))  # a STOP sorts before a START at the same time
        for status, time, rank in marks:
            frame = None if not r.fps else round(time * r.fps)
            duration = durations.get(r.blind_code)
            row: list[object] = [
                obs,
                "",
                "",
                duration,
                "Media file",
                r.blind_code,
                0.0,
                duration,
                r.fps,
                "",
                r.code,
                r.group,
                *mods,
                status,
                time,
                f"{r.blind_code}.mp4",
                frame,
                "NA",
                "",
            ]
            records.append(((obs, "", time, rank), row))
    records.sort(key=lambda item: item[0])
    buf = io.StringIO()
    n = write_rows(buf, header, (row for _, row in records))
    audit.record(session, actor, "export.boris_events", study_id=study.id, rows=n, scheme=found.scheme_key)
    return buf.getvalue()


def elan_events_zip(session: Session, actor: Actor, study_key: str, *, scheme: str | None = None) -> bytes:
    """One .eaf per film with the done events, a tier per rater and group (``<rater>/<group>``)."""
    found = events.study_events(session, actor, study_key, scheme=scheme)
    by_film: dict[str, dict[str, list[tuple[float, float, str]]]] = {}
    for r in found.rows:
        tiers = by_film.setdefault(r.blind_code, {})
        end = r.offset if r.offset is not None else r.onset + POINT_MS
        tiers.setdefault(f"{r.rater}/{r.group}", []).append((r.onset, end, _join((r.code, *r.modifiers))))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for film, tiers in sorted(by_film.items()):
            doc = _eaf_document(
                film, [(name, name.split("/")[0], sorted(anns)) for name, anns in sorted(tiers.items())]
            )
            zf.writestr(f"{film}.eaf", doc)
    study = get_study(session, study_key)
    audit.record(session, actor, "export.elan_events", study_id=study.id, films=len(by_film), scheme=found.scheme_key)
    return buf.getvalue()


# ---------------------------------------------------------------- imports


@dataclass(frozen=True)
class ParsedEvent:
    """One event read from a file, before it is checked against the study."""

    row: int
    film: str
    rater: str
    group: str | None
    code: str
    modifiers: tuple[str, ...]
    onset: float
    offset: float | None


@dataclass(frozen=True)
class EventsImportSummary:
    created: int
    unchanged: int
    assignments_created: int


def _number(text: str, what: str, row: int, errors: list[RowError], *, empty_ok: bool = False) -> float | None:
    text = text.strip()
    if not text:
        if not empty_ok:
            errors.append(RowError(row, f"{what} is empty; give it in seconds"))
        return None
    try:
        value = float(text)
    except ValueError:
        errors.append(RowError(row, f"{what} {text!r} is not a number of seconds"))
        return None
    if not math.isfinite(value) or value < 0:
        errors.append(RowError(row, f"{what} {text!r} must be a finite number of seconds, 0 or more"))
        return None
    return value


def _mods(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(MODIFIER_SEPARATOR) if m.strip()) if text.strip() else ()


def parse_events_csv(data: bytes | str, what: str = "events file") -> tuple[list[ParsedEvent], list[RowError]]:
    """Rows of the long events CSV (the ``events`` export's columns; study and duration optional)."""
    rows = read_csv_rows(data, what, ["film", "rater", "code", "onset", "offset"])
    out: list[ParsedEvent] = []
    errors: list[RowError] = []
    for n, row in enumerate(rows, start=2):
        if not row:
            continue
        film, rater, code = row.get("film", ""), row.get("rater", ""), row.get("code", "")
        for name, value in (("film", film), ("rater", rater), ("code", code)):
            if not value:
                errors.append(RowError(n, f"{name} is empty"))
        onset = _number(row.get("onset", ""), "onset", n, errors)
        offset = _number(row.get("offset", ""), "offset", n, errors, empty_ok=True)
        if film and rater and code and onset is not None:
            out.append(
                ParsedEvent(
                    n, film, rater, row.get("group") or None, code, _mods(row.get("modifiers", "")), onset, offset
                )
            )
    return out, errors


def _split_observation(obs: str, film: str | None, rater: str | None) -> tuple[str, str] | None:
    if film and rater:
        return film, rater
    if "/" in obs:
        f, r = obs.split("/", 1)
        return (film or f.strip(), rater or r.strip())
    return None


def parse_boris(
    data: bytes | str, *, film: str | None = None, rater: str | None = None, what: str = "BORIS events file"
) -> tuple[list[ParsedEvent], list[RowError]]:
    """BORIS tabular events: START/STOP rows paired per observation, subject, behavior and modifiers."""
    rows = read_csv_rows(data, what, ["observation id", "behavior", "time"])
    errors: list[RowError] = []
    out: list[ParsedEvent] = []
    header = next((r for r in rows if r), {})
    if header and "behavior type" not in header and "status" not in header:
        errors.append(RowError(1, "the file needs a 'Behavior type' (or 'Status') column: START, STOP or POINT"))
        return out, errors
    open_states: dict[tuple[str, str, str, tuple[str, ...]], tuple[int, float]] = {}
    for n, row in enumerate(rows, start=2):
        if not row:
            continue
        obs = row.get("observation id", "")
        where = _split_observation(obs, film, rater)
        if where is None:
            errors.append(RowError(n, f"observation id {obs!r} is not <film>/<rater>; give --film and --rater"))
            continue
        code = row.get("behavior", "")
        status = (row.get("behavior type") or row.get("status") or "").strip().upper()
        time = _number(row.get("time", ""), "Time", n, errors)
        mod_cols = sorted((k for k in row if k.startswith("modifier #")), key=lambda k: int(k.split("#")[1] or 0))
        mods = tuple(row[k] for k in mod_cols if row[k]) or _mods(row.get("modifiers", ""))
        if not code:
            errors.append(RowError(n, "Behavior is empty"))
            continue
        if time is None:
            continue
        group = row.get("behavioral category") or None
        key = (obs, row.get("subject", ""), code, mods)
        if status == "POINT":
            out.append(ParsedEvent(n, where[0], where[1], group, code, mods, time, None))
        elif status == "START":
            if key in open_states:
                errors.append(
                    RowError(n, f"{code} starts again before its STOP (it started in row {open_states[key][0]})")
                )
            open_states[key] = (n, time)
        elif status == "STOP":
            if key not in open_states:
                errors.append(RowError(n, f"STOP of {code} without a START before it"))
                continue
            start_row, start = open_states.pop(key)
            out.append(ParsedEvent(start_row, where[0], where[1], group, code, mods, start, time))
        else:
            errors.append(RowError(n, f"Behavior type {status or '(empty)'!r} is not START, STOP or POINT"))
    for (_, _, code, _), (row_no, _) in open_states.items():
        errors.append(RowError(row_no, f"START of {code} has no STOP"))
    return sorted(out, key=lambda e: e.row), errors


def parse_elan(
    data: bytes | str, *, film: str | None = None, rater: str | None = None
) -> tuple[list[ParsedEvent], list[RowError]]:
    """ELAN tiers ``<rater>/<group>`` (or any tier with --rater): value ``code`` or ``code|modifier|...``.

    Rows are numbered across the file's annotations in tier order (1 = the first annotation).
    """
    if not film:
        raise ServiceError("An ELAN file describes one film: give --film with its code.")
    root = _parse(data)
    slots: dict[str | None, float] = {}
    for slot in root.iter("TIME_SLOT"):
        value = slot.get("TIME_VALUE")
        if value is not None:
            slots[slot.get("TIME_SLOT_ID")] = int(value) / 1000.0
    out: list[ParsedEvent] = []
    errors: list[RowError] = []
    n = 0
    for tier in root.iter("TIER"):
        name = tier.get("TIER_ID", "")
        if "/" in name:
            tier_rater, group = (p.strip() for p in name.split("/", 1))
        else:
            tier_rater, group = name.strip(), None
        who = rater or tier_rater
        for ann in tier.iter("ALIGNABLE_ANNOTATION"):
            n += 1
            r1, r2 = ann.get("TIME_SLOT_REF1"), ann.get("TIME_SLOT_REF2")
            if r1 not in slots or r2 not in slots:
                errors.append(
                    RowError(n, f"tier {name!r}: annotation {ann.get('ANNOTATION_ID')} has no time; align it")
                )
                continue
            parts = [p.strip() for p in (ann.findtext("ANNOTATION_VALUE") or "").split(MODIFIER_SEPARATOR)]
            if not parts[0]:
                errors.append(RowError(n, f"tier {name!r}: annotation {ann.get('ANNOTATION_ID')} has no code"))
                continue
            out.append(
                ParsedEvent(n, film, who, group, parts[0], tuple(p for p in parts[1:] if p), slots[r1], slots[r2])
            )
    return out, errors


def _code_of(groups: Sequence[EventGroup], e: ParsedEvent) -> tuple[EventGroup, EventCode] | str:
    for g in groups:
        for c in g.codes:
            if c.name == e.code and (e.group is None or e.group == g.key):
                return g, c
    if e.group is not None and not any(g.key == e.group for g in groups):
        return f"group {e.group!r} is not in the scheme (groups: {', '.join(g.key for g in groups)})"
    names = ", ".join(c.name for g in groups for c in g.codes if e.group is None or g.key == e.group)
    return f"code {e.code!r} is not in {'group ' + repr(e.group) if e.group else 'the scheme'} (codes: {names})"


def import_events(
    session: Session,
    actor: Actor,
    study_key: str,
    data: bytes | str,
    *,
    fmt: str = "csv",
    scheme: str | None = None,
    film: str | None = None,
    rater: str | None = None,
    source: str = "",
) -> EventsImportSummary:
    """Import coded events (all or nothing); see the module docstring for the formats."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    if not StudyStatus(study.status).ratings_editable:
        raise ServiceError(f"The study is {study.status}: events can no longer be imported.")
    what = f"events file {source}".strip()
    if fmt == "csv":
        parsed, errors = parse_events_csv(data, what)
    elif fmt == "boris":
        parsed, errors = parse_boris(data, film=film, rater=rater, what=what)
    elif fmt == "elan":
        parsed, errors = parse_elan(data, film=film, rater=rater)
    else:
        raise ServiceError(f"Import format must be one of {', '.join(IMPORT_FORMATS)}, not {fmt!r}.")
    scheme_id, model = events.event_scheme(session, study_key, scheme)
    groups = tuple(model.event_groups)
    films = {
        rec.blind_code: rec
        for rec in session.scalars(
            select(Recording).where(Recording.study_id == study.id, Recording.purpose == "assessment")
        )
    }
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_({e.rater for e in parsed})))}
    planned: list[tuple[ParsedEvent, Segment, User, EventGroup, EventCode]] = []
    for e in parsed:
        rec = films.get(e.film)
        if rec is None:
            errors.append(RowError(e.row, f"film {e.film!r} is not an assessment film of study {study.key}"))
            continue
        user = users.get(e.rater)
        if user is None or user.role != "rater":
            errors.append(RowError(e.row, f"rater {e.rater!r} is not a rater account; create it first"))
            continue
        found = _code_of(groups, e)
        if isinstance(found, str):
            errors.append(RowError(e.row, found))
            continue
        g, c = found
        offset = e.offset
        if c.kind == "point":
            if offset is not None and offset - e.onset > POINT_MS + TIME_SLACK:
                errors.append(RowError(e.row, f"{c.name} is a point event; leave its offset empty"))
                continue
            offset = None
        elif offset is None:
            errors.append(RowError(e.row, f"{c.name} is a state; give its offset"))
            continue
        elif offset < e.onset:
            errors.append(RowError(e.row, f"offset {offset:g} is before onset {e.onset:g}"))
            continue
        bad = [m for m in e.modifiers if m not in c.modifiers]
        if bad:
            allowed = ", ".join(c.modifiers) or "none"
            errors.append(RowError(e.row, f"modifier {bad[0]!r} is not allowed for {c.name} (allowed: {allowed})"))
            continue
        segs = [s for s in rec.segments if s.start_s - TIME_SLACK <= e.onset < s.end_s]
        if not segs and rec.segments and abs(e.onset - rec.segments[-1].end_s) <= TIME_SLACK:
            segs = [rec.segments[-1]]
        if not segs:
            errors.append(RowError(e.row, f"onset {e.onset:g} s is in no segment of film {e.film}"))
            continue
        seg = segs[0]
        if offset is not None and offset > seg.end_s + TIME_SLACK:
            errors.append(
                RowError(e.row, f"the event runs past the end of its segment ({seg.end_s:g} s); split it there")
            )
            continue
        planned.append((replace(e, group=g.key, code=c.name, offset=offset), seg, user, g, c))
    if errors:
        raise ImportRejected(what, sorted(errors, key=lambda x: x.row))
    if not planned:
        raise ServiceError(f"{what}: no events in the file; nothing to import.")

    created = unchanged = made = 0
    now = utcnow()
    next_order: dict[int, int] = {}
    cache: dict[tuple[int, int], Assignment] = {}
    for e, seg, user, _g, _c in planned:
        key = (user.id, seg.id)
        a = cache.get(key)
        if a is None:
            a = session.scalar(
                select(Assignment)
                .where(
                    Assignment.rater_id == user.id,
                    Assignment.segment_id == seg.id,
                    Assignment.scheme_id == scheme_id,
                    Assignment.purpose.in_(events.COUNTED_PURPOSES),
                )
                .order_by(Assignment.id)
            )
            if a is None:
                if user.id not in next_order:
                    top = session.scalar(select(func.max(Assignment.order_index)).where(Assignment.rater_id == user.id))
                    next_order[user.id] = -1 if top is None else top
                next_order[user.id] += 1
                a = Assignment(
                    study_id=study.id,
                    rater_id=user.id,
                    segment_id=seg.id,
                    scheme_id=scheme_id,
                    purpose="primary",
                    order_index=next_order[user.id],
                    status="done",
                    first_activity_at=now,
                    done_at=now,
                )
                session.add(a)
                session.flush()
                made += 1
            cache[key] = a
        same = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(
                Event.assignment_id == a.id,
                Event.group_key == e.group,
                Event.code == e.code,
                Event.onset_s == e.onset,
                Event.offset_s.is_(None) if e.offset is None else Event.offset_s == e.offset,
            )
        )
        if same:
            unchanged += 1
            continue
        session.add(
            Event(
                assignment_id=a.id,
                group_key=e.group,
                code=e.code,
                modifiers=list(e.modifiers),
                onset_s=e.onset,
                offset_s=e.offset,
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        created += 1
    session.flush()
    audit.record(
        session,
        actor,
        "import.events",
        study_id=study.id,
        format=fmt,
        source=source,
        created=created,
        unchanged=unchanged,
        assignments_created=made,
    )
    return EventsImportSummary(created, unchanged, made)
