"""A study's coded events for researchers: the long table, and the tidy frame the timing stats take.

Events count once their item is done (an unfinished item may still change), on assessment
films, for the primary and reliability purposes (calibration and consensus work is not the
study's coding). Nothing here reads the allocation: the rows carry the film's blind code, the
segment and the rater, never a participant, arm or time point.

For the statistics (:mod:`annotate.stats.timing`) a *session* is one coded segment of a film
(``<blind code>#<segment number>``); times are seconds from the segment's start and the
session's length is the segment's length, so a film coded in two segments gives two sessions
and no stretch that nobody coded counts as agreement on "none".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Recording, Segment, User
from annotate.db.models_events import Event
from annotate.schemes import EventGroup
from annotate.schemes import Scheme as SchemeModel
from annotate.services import studies
from annotate.services.actor import Actor, require_role
from annotate.services.errors import NotEnoughData, ServiceError
from annotate.stats.timing_input import EventTable, read_timing_events

COUNTED_PURPOSES = ("primary", "reliability")
DEFAULT_FRAME_S = 0.1


@dataclass(frozen=True)
class StudyEventRow:
    """One done event of a study (media times of the film, seconds)."""

    study: str
    blind_code: str
    segment: int  # 1-based, as the pages show it
    segment_start: float
    segment_end: float
    fps: float | None
    rater: str
    group: str
    code: str
    kind: str
    modifiers: tuple[str, ...]
    onset: float
    offset: float | None

    @property
    def duration(self) -> float | None:
        return None if self.offset is None else self.offset - self.onset

    @property
    def session(self) -> str:
        """The statistics' session: one segment of one film."""
        return f"{self.blind_code}#{self.segment}"


@dataclass(frozen=True)
class StudyEvents:
    """A study's done events of one scheme, sorted by film, segment, rater, onset, code."""

    study: str
    scheme_key: str
    scheme_version: str
    groups: tuple[EventGroup, ...]
    rows: tuple[StudyEventRow, ...]

    @property
    def frame_s(self) -> float:
        """One frame of the fastest film (the time-unit kappa's unit in the tool)."""
        rates = [r.fps for r in self.rows if r.fps]
        return 1.0 / max(rates) if rates else DEFAULT_FRAME_S


def event_scheme(session: Session, study_key: str, scheme: str | None) -> tuple[int, SchemeModel]:
    """The stored scheme (id, model) whose event groups a study codes; an error if it has none."""
    study = studies.get_study(session, study_key)
    row, model = studies.study_scheme(session, study, scheme)
    if not model.event_groups:
        raise ServiceError(
            f"Scheme {model.key} of study {study.key} has no event groups; name the event-coding scheme with --scheme."
        )
    return row.id, model


def study_events(session: Session, actor: Actor, study_key: str, *, scheme: str | None = None) -> StudyEvents:
    """The done events of a study on one scheme (researchers only)."""
    require_role(actor, "researcher")
    study = studies.get_study(session, study_key)
    scheme_id, model = event_scheme(session, study_key, scheme)
    kinds = {(g.key, c.name): c.kind for g in model.event_groups for c in g.codes}
    found = session.execute(
        select(Event, Assignment, Segment, Recording, User)
        .join(Assignment, Event.assignment_id == Assignment.id)
        .join(Segment, Assignment.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .join(User, Assignment.rater_id == User.id)
        .where(
            Assignment.study_id == study.id,
            Assignment.scheme_id == scheme_id,
            Assignment.status == "done",
            Assignment.purpose.in_(COUNTED_PURPOSES),
            Recording.purpose == "assessment",
        )
    ).all()
    rows = [
        StudyEventRow(
            study=study.key,
            blind_code=rec.blind_code,
            segment=seg.index + 1,
            segment_start=seg.start_s,
            segment_end=seg.end_s,
            fps=rec.fps,
            rater=user.username,
            group=e.group_key,
            code=e.code,
            kind=kinds.get((e.group_key, e.code), "point" if e.offset_s is None else "state"),
            modifiers=tuple(e.modifiers or ()),
            onset=e.onset_s,
            offset=e.offset_s,
        )
        for e, _a, seg, rec, user in found
    ]
    rows.sort(key=lambda r: (r.blind_code, r.segment, r.rater, r.onset, r.code, -1.0 if r.offset is None else r.offset))
    return StudyEvents(study.key, model.key, model.version, tuple(model.event_groups), tuple(rows))


def timing_frame(rows: Sequence[StudyEventRow]) -> pd.DataFrame:
    """The tidy frame of :func:`annotate.stats.timing_input.read_timing_events` (segment-relative times)."""
    return pd.DataFrame(
        {
            "session": [r.session for r in rows],
            "rater": [r.rater for r in rows],
            "group": [r.group for r in rows],
            "code": [r.code for r in rows],
            "onset": [max(0.0, r.onset - r.segment_start) for r in rows],
            "offset": [None if r.offset is None else max(0.0, r.offset - r.segment_start) for r in rows],
            "session_length": [r.segment_end - r.segment_start for r in rows],
        },
        columns=["session", "rater", "group", "code", "onset", "offset", "session_length"],
    )


def study_timing_frame(
    session: Session, actor: Actor, study_key: str, *, scheme: str | None = None
) -> tuple[EventTable, float]:
    """A study's done events as the validated table of the timing stats, and one frame in seconds."""
    events = study_events(session, actor, study_key, scheme=scheme)
    if not events.rows:
        raise NotEnoughData(
            f"Study {study_key} has no done event coding on scheme {events.scheme_key} yet; "
            "timing agreement needs items coded by two raters and marked done."
        )
    frame = timing_frame(events.rows)
    frame["offset"] = frame["offset"].astype(float)
    return read_timing_events(frame), events.frame_s
