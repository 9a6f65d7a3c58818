"""Imports of ratings (paper forms, another tool) and of segment definitions, all-or-nothing.

Ratings file (CSV, UTF-8; comma, semicolon or tab; header names are case-insensitive)
-----------------------------------------------------------------------------------
``film``       film code as shown in the app (``recording`` is accepted too, so a blinded
               ratings export can be read back)
``segment``    segment number within the film, 1 = first
``rater``      username of a rater account
``dimension``  dimension name of the study's scheme (e.g. ``sensitivity``)
``value``      the score, on the dimension's grid (e.g. 1 to 9 in steps of 1)
``purpose``    optional: ``primary`` (default) or ``reliability`` (the second rater of a double-coded segment)
``note``       optional: the rater's note on the segment (one note per film segment, rater and purpose),
               kept byte for byte (spaces, line breaks, tabs); the ``'`` our exports put in front of a
               formula-like note is removed (:mod:`annotate.reports.csvio`)

The file is read strictly (:func:`annotate.reports.csvio.read_csv_rows`): RFC 4180 quoting, the
delimiter from the header row, UTF-8; a malformed record or a row with too many or too few cells
rejects the file with the row number.

Every row is checked before anything is written; any bad row rejects the whole file with its row
number (header = row 1) and the reason. A score already in the database with the same value is left
alone, so importing the same file twice changes nothing; a *different* value is refused (change it in
the app, where the change needs a reason). Missing assignments are created; an assignment whose
dimensions are all scored is marked done (consensus tasks open as after rating in the app).

Segments file
-------------
``film``, ``start``, ``end`` and optional ``task`` (or ``task_label``): times in seconds (``75.5``) or
``m:ss`` / ``h:mm:ss`` (``1:15.5``). A film's segments are replaced by those of the file, numbered by
start time. Films whose segments already have assignments cannot be re-cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Rating, RatingHistory, Recording, Segment, Study, User, utcnow
from annotate.reports.csvio import format_number, read_csv_rows
from annotate.services import rating
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ImportRejected, RowError, ServiceError
from annotate.services.policy import StudyStatus
from annotate.services.studies.setup import get_study, scheme_model

IMPORT_PURPOSES = ("primary", "reliability")
_TIME_TOLERANCE_S = 0.5


@dataclass(frozen=True)
class RatingsImportSummary:
    created: int  # scores written
    unchanged: int  # scores already present with the same value
    assignments_created: int
    assignments_done: int  # assignments marked done by this import


@dataclass(frozen=True)
class Span:
    row: int
    start_s: float
    end_s: float
    label: str | None


@dataclass(frozen=True)
class SegmentsImportSummary:
    films: int  # films whose segments were replaced
    segments: int  # segments written
    unchanged: int  # films that already had exactly these segments


def parse_time(text: str) -> float:
    """Seconds from ``75.5``, ``1:15.5`` or ``0:01:15.5``.

    Examples
    --------
    >>> parse_time("75.5"), parse_time("1:15.5"), parse_time("1:00:00")
    (75.5, 75.5, 3600.0)
    >>> parse_time("1:75")
    Traceback (most recent call last):
    ...
    ValueError: time '1:75' must be seconds or m:ss / h:mm:ss (minutes and seconds below 60)
    """
    parts = text.strip().replace(",", ".").split(":")
    bad = ValueError(f"time {text!r} must be seconds or m:ss / h:mm:ss (minutes and seconds below 60)")
    if not 1 <= len(parts) <= 3 or any(p.strip() == "" for p in parts):
        raise bad
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise bad from None
    if any(n < 0 for n in nums) or any(n >= 60 for n in nums[1:]) or any(n != n or n == float("inf") for n in nums):
        raise bad
    seconds = 0.0
    for n in nums:
        seconds = seconds * 60 + n
    return seconds


def _check_editable(study: Study, what: str) -> None:
    if not StudyStatus(study.status).ratings_editable:
        raise ServiceError(
            f"{what}: study {study.key} is {study.status}, so ratings can no longer be added; "
            "an admin can reopen it for rating first."
        )


def import_ratings(
    session: Session, actor: Actor, study_key: str, data: bytes | str, *, source: str = "ratings file"
) -> RatingsImportSummary:
    """Import scores from CSV (format in the module docstring); all-or-nothing, idempotent.

    Examples
    --------
    >>> from annotate.services.errors import RowError
    >>> str(RowError(3, "rater 'bob' is not a rater account"))
    "row 3: rater 'bob' is not a rater account"
    """
    require_role(actor, "researcher")
    what = "Ratings file"
    study = get_study(session, study_key)
    _check_editable(study, what)
    rows = read_csv_rows(data, what, ["segment", "rater", "dimension", "value"], verbatim=["note"])
    header = next((list(r) for r in rows if r), [])
    film_col = "film" if "film" in header else "recording" if "recording" in header else None
    if film_col is None:
        raise ServiceError(f"{what}: missing column film (the film code, e.g. K7M2QX).")
    scheme = scheme_model(study.scheme)
    segments: dict[str, dict[int, int]] = {}
    for code, idx, sid, purpose in session.execute(
        select(Recording.blind_code, Segment.index, Segment.id, Recording.purpose)
        .join(Segment, Segment.recording_id == Recording.id)
        .where(Recording.study_id == study.id)
    ):
        if purpose == "assessment":
            segments.setdefault(code, {})[idx + 1] = sid
    raters = {u.username: u for u in session.scalars(select(User))}
    assignments = {
        (a.rater_id, a.segment_id, a.purpose): a
        for a in session.scalars(
            select(Assignment).where(Assignment.study_id == study.id, Assignment.scheme_id == study.scheme_id)
        )
    }
    existing = {
        (r.assignment_id, r.dimension): r
        for r in session.scalars(
            select(Rating)
            .join(Assignment, Rating.assignment_id == Assignment.id)
            .where(Assignment.study_id == study.id)
        )
    }
    errors: list[RowError] = []
    seen: dict[tuple, int] = {}
    notes: dict[tuple, tuple[int, str]] = {}
    plan: list[tuple[int, User, int, str, str, float]] = []
    for i, row in enumerate(rows, start=2):
        if not row:
            continue
        code = row.get(film_col, "")
        film = segments.get(code)
        if film is None:
            errors.append(
                RowError(i, f"film {code!r} is not an assessment film of {study.key}" if code else "film is empty")
            )
            continue
        try:
            seg_no = int(row["segment"])
        except ValueError:
            errors.append(RowError(i, f"segment {row['segment']!r} must be a whole number (1 = first segment)"))
            continue
        if seg_no not in film:
            errors.append(RowError(i, f"film {code} has segments 1 to {len(film)}; there is no segment {seg_no}"))
            continue
        user = raters.get(row["rater"].lower())
        if user is None or user.role != "rater":
            errors.append(RowError(i, f"rater {row['rater']!r} is not a rater account; add the user first"))
            continue
        purpose = (row.get("purpose") or "primary").lower()
        if purpose not in IMPORT_PURPOSES:
            errors.append(RowError(i, f"purpose {purpose!r} must be primary or reliability"))
            continue
        try:
            dim = scheme.dimension(row["dimension"])
        except (KeyError, ValueError) as exc:
            errors.append(RowError(i, str(exc)))
            continue
        if not row["value"]:
            errors.append(RowError(i, "value is empty; leave the row out if the segment was not scored"))
            continue
        try:
            value = float(dim.check_value(float(row["value"].replace(",", "."))))
        except ValueError as exc:
            errors.append(RowError(i, str(exc) if "must" in str(exc) else f"value {row['value']!r} is not a number"))
            continue
        key = (code, seg_no, user.id, purpose, dim.name)
        if key in seen:
            errors.append(
                RowError(
                    i,
                    f"the same score (film {code}, segment {seg_no}, {user.username}, {dim.name}) "
                    f"is already on row {seen[key]}",
                )
            )
            continue
        seen[key] = i
        sid = film[seg_no]
        a = assignments.get((user.id, sid, purpose))
        old = existing.get((a.id, dim.name)) if a else None
        if old is not None and old.value is not None and old.value != value:
            errors.append(
                RowError(
                    i,
                    f"{user.username} already scored {dim.name} {format_number(old.value)} on film {code} segment "
                    f"{seg_no}; the file says {format_number(value)}. Change it in the app (a change needs a reason)",
                )
            )
            continue
        note = row.get("note", "")
        akey = (user.id, sid, purpose)
        if note:
            if akey in notes and notes[akey][1] != note:
                errors.append(
                    RowError(i, f"a different note for this film segment and rater is on row {notes[akey][0]}")
                )
                continue
            if a is not None and a.note and a.note != note:
                errors.append(
                    RowError(i, f"{user.username} already has a different note on film {code} segment {seg_no}")
                )
                continue
            notes[akey] = (i, note)
        plan.append((i, user, sid, purpose, dim.name, value))
    if errors:
        raise ImportRejected(what, errors)
    if not plan:
        raise ServiceError(f"{what}: no data rows; add one row per score.")
    return _write_ratings(session, actor, study, plan, notes, assignments, existing, source, len(scheme.dimensions))


def _write_ratings(session, actor, study, plan, notes, assignments, existing, source, n_dims) -> RatingsImportSummary:
    created = unchanged = made = done = 0
    next_order: dict[int, int] = {}
    touched: dict[int, Assignment] = {}
    now = utcnow()
    reason = f"imported from {source} by {actor.username}"
    for _row, user, sid, purpose, dim, value in plan:
        a = assignments.get((user.id, sid, purpose))
        if a is None:
            if user.id not in next_order:
                top = session.scalar(select(func.max(Assignment.order_index)).where(Assignment.rater_id == user.id))
                next_order[user.id] = -1 if top is None else top
            next_order[user.id] += 1
            a = Assignment(
                study_id=study.id,
                rater_id=user.id,
                segment_id=sid,
                scheme_id=study.scheme_id,
                purpose=purpose,
                order_index=next_order[user.id],
                status="in_progress",
                first_activity_at=now,
            )
            session.add(a)
            session.flush()
            assignments[(user.id, sid, purpose)] = a
            made += 1
        touched[a.id] = a
        old = existing.get((a.id, dim))
        if old is not None and old.value == value:
            unchanged += 1
            continue
        if old is None:
            session.add(
                Rating(
                    assignment_id=a.id,
                    segment_id=sid,
                    rater_id=user.id,
                    scheme_id=study.scheme_id,
                    dimension=dim,
                    value=value,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            old.value, old.version, old.updated_at = value, old.version + 1, now
        session.add(
            RatingHistory(
                assignment_id=a.id,
                dimension=dim,
                old_value=None,
                new_value=format_number(value),
                changed_by=actor.user_id or user.id,
                reason=reason,
            )
        )
        created += 1
    for (rater_id, sid, purpose), (_row, note) in notes.items():
        a = assignments[(rater_id, sid, purpose)]
        if a.note != note:
            session.add(
                RatingHistory(
                    assignment_id=a.id,
                    dimension="(note)",
                    old_value=a.note,
                    new_value=note,
                    changed_by=actor.user_id or rater_id,
                    reason=reason,
                )
            )
            a.note, a.note_version = note, a.note_version + 1
    session.flush()
    for a in touched.values():
        scored = session.scalar(
            select(func.count()).select_from(Rating).where(Rating.assignment_id == a.id, Rating.value.is_not(None))
        )
        if a.status != "done" and scored >= n_dims:
            a.status, a.done_at = "done", now
            done += 1
            session.flush()
            rating.open_tasks_after_done(session, a.segment_id)
        elif a.status == "assigned":
            a.status = "in_progress"
    if made and study.status == StudyStatus.SETUP:
        study.status = StudyStatus.RATING.value  # as when assigning in the app
    audit.record(
        session,
        actor,
        "ratings.import",
        study_id=study.id,
        source=source,
        created=created,
        unchanged=unchanged,
        assignments_created=made,
        assignments_done=done,
    )
    return RatingsImportSummary(created=created, unchanged=unchanged, assignments_created=made, assignments_done=done)


def import_segments(session: Session, actor: Actor, study_key: str, data: bytes | str) -> SegmentsImportSummary:
    """Replace films' segments by those of a CSV (film, start, end[, task]); all-or-nothing."""
    require_role(actor, "researcher")
    what = "Segments file"
    study = get_study(session, study_key)
    rows = read_csv_rows(data, what, ["film", "start", "end"])
    plan: dict[str, list[Span]] = {}
    errors: list[RowError] = []
    for i, row in enumerate(rows, start=2):
        if not row:
            continue
        try:
            start, end = parse_time(row["start"]), parse_time(row["end"])
        except ValueError as exc:
            errors.append(RowError(i, str(exc)))
            continue
        label = row.get("task") or row.get("task_label") or None
        plan.setdefault(row["film"], []).append(Span(i, start, end, label))
    if errors:
        raise ImportRejected(what, errors)
    return apply_segments(session, actor, study, plan, what)


def apply_segments(
    session: Session, actor: Actor, study: Study, plan: dict[str, list[Span]], what: str
) -> SegmentsImportSummary:
    """Check and write segment definitions per film code (shared by the CSV and ELAN imports)."""
    if not plan:
        raise ServiceError(f"{what}: no segments; add one row per segment.")
    films = {r.blind_code: r for r in session.scalars(select(Recording).where(Recording.study_id == study.id))}
    errors: list[RowError] = []
    for code, spans in plan.items():
        rec = films.get(code)
        first = spans[0].row
        if rec is None:
            errors.append(RowError(first, f"film {code!r} is not a film of {study.key}"))
            continue
        limit = rec.duration_s
        ordered = sorted(spans, key=lambda s: (s.start_s, s.end_s))
        prev: Span | None = None  # the last valid segment, so one bad row is reported once
        for s in ordered:
            if s.end_s <= s.start_s:
                errors.append(RowError(s.row, f"end {s.end_s:g} s must be after start {s.start_s:g} s"))
            elif limit is not None and s.end_s > limit + _TIME_TOLERANCE_S:
                errors.append(RowError(s.row, f"end {s.end_s:g} s is after the end of film {code} ({limit:g} s)"))
            elif prev is not None and s.start_s < prev.end_s - 1e-9:
                errors.append(
                    RowError(s.row, f"overlaps the segment on row {prev.row} ({prev.start_s:g}-{prev.end_s:g} s)")
                )
            else:
                prev = s
    if errors:
        raise ImportRejected(what, sorted(errors, key=lambda e: e.row))
    changes: list[tuple[Recording, list[tuple[float, float, str | None]]]] = []
    unchanged = 0
    for code, spans in plan.items():
        rec = films[code]
        ordered = sorted(spans, key=lambda s: (s.start_s, s.end_s))
        current = [(round(s.start_s, 3), round(s.end_s, 3), s.task_label) for s in rec.segments]
        wanted = [(round(s.start_s, 3), round(s.end_s, 3), s.label) for s in ordered]
        if current == wanted:
            unchanged += 1
            continue
        seg_ids = [s.id for s in rec.segments]
        used = seg_ids and session.scalar(
            select(func.count()).select_from(Assignment).where(Assignment.segment_id.in_(seg_ids))
        )
        if used:
            errors.append(
                RowError(
                    spans[0].row,
                    f"film {code} already has {used} assignment(s) on its segments; "
                    "segments cannot be changed under assigned or rated work",
                )
            )
        changes.append((rec, wanted))
    if errors:
        raise ImportRejected(what, errors)
    written = 0
    for rec, wanted in changes:
        for old_segment in list(rec.segments):
            session.delete(old_segment)
        session.flush()
        for k, (start, end, label) in enumerate(wanted):
            session.add(Segment(recording_id=rec.id, index=k, start_s=start, end_s=end, task_label=label))
        session.flush()
        session.expire(rec, ["segments"])
        written += len(wanted)
    replaced = len(changes)
    audit.record(
        session, actor, "segments.import", study_id=study.id, films=replaced, segments=written, unchanged=unchanged
    )
    return SegmentsImportSummary(films=replaced, segments=written, unchanged=unchanged)
