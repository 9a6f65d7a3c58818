"""A study coded with the example ethogram: 3 ready assessment films (60 s segments, 25 fps), every
segment given to raters r1 and r2 by the assignment engine (double-coded)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from annotate.db.models import Assignment, Participant, Recording, Segment, Study
from annotate.services import assignments, studies

SCHEME = "parent_infant_events"


@pytest.fixture
def event_study(session, settings, people, tmp_path):
    return make_event_study(session, settings, people, tmp_path)


def make_event_study(session, settings, people, tmp_path) -> str:
    res = people["res"]
    studies.create_study(
        session, res, settings, "EV", arms="VIPP,Control", timepoints="baseline,month5", scheme_key=SCHEME
    )
    studies.import_participants(session, res, "EV", "participant,arm\nP01,VIPP\nP02,Control\nP03,VIPP\n")
    st = session.scalar(select(Study).where(Study.key == "EV"))
    pmap = {p.external_id: p for p in session.scalars(select(Participant))}
    proxy = tmp_path / "proxy.mp4"
    proxy.write_bytes(b"\x00" * 4096)
    for i, (pid, tp) in enumerate([("P01", 0), ("P02", 0), ("P03", 1)]):
        rec = Recording(
            study_id=st.id,
            participant_id=pmap[pid].id,
            timepoint_id=st.timepoints[tp].id,
            purpose="assessment",
            blind_code=f"EV{i}",
            original_name=f"IMG_{pid}.mov",
            proxy_path=str(proxy),
            status="ready",
            duration_s=120.0,
            fps=25.0,
            width=640,
            height=480,
            has_audio=True,
        )
        session.add(rec)
        session.flush()
        for k in range(2):
            session.add(Segment(recording_id=rec.id, index=k, start_s=60.0 * k, end_s=60.0 * (k + 1)))
    session.commit()
    assignments.assign_segments(session, res, "EV", ["r1", "r2"], mode="all", seed=1)
    session.commit()
    return "EV"


def items(session, people, rater: str) -> list[Assignment]:
    """The rater's assignments of study EV, by film and segment."""
    rows = session.scalars(
        select(Assignment)
        .join(Segment, Assignment.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .where(Assignment.rater_id == people[rater].user_id)
        .order_by(Recording.blind_code, Segment.index)
    ).all()
    return list(rows)


def code_and_finish(session, people, rater: str, item: int, coded) -> None:
    """Code ``(group, code, onset, offset, modifiers)`` events on one item, score codability, mark done."""
    from annotate.services import events, rating

    actor = people[rater]
    for group, code, onset, offset, modifiers in coded:
        events.add_event(session, actor, item, group, code, onset, offset, modifiers)
    rating.save_rating(session, actor, item, "codability", 2, expected_version=0)
    events.mark_done(session, actor, item)
    session.commit()


# Two raters on the first segments (0-60 s) of films EV0 and EV1; r2 a little late, one event each missed.
CODED = {
    "r1": [
        ("infant_gaze", "gaze_parent", 0.0, 10.0, ()),
        ("infant_gaze", "gaze_away", 10.0, 25.0, ()),
        ("maternal_touch", "touch_playful", 12.0, 18.0, ("hands",)),
        ("vocalisation", "infant_vocal", 5.0, None, ("positive",)),
        ("vocalisation", "parent_vocal", 30.0, None, ()),
        ("now_moment", "now_moment", 40.0, None, ()),
    ],
    "r2": [
        ("infant_gaze", "gaze_parent", 0.2, 10.4, ()),
        ("infant_gaze", "gaze_away", 10.4, 24.0, ()),
        ("maternal_touch", "touch_caregiving", 12.5, 18.0, ("face", "hands")),
        ("vocalisation", "infant_vocal", 5.3, None, ("neutral",)),
        ("now_moment", "now_moment", 44.0, None, ()),
    ],
}


def code_study(session, people) -> None:
    """Films EV0 and EV1, first segment, coded by r1 and r2 (CODED) and done."""
    for rater in ("r1", "r2"):
        mine = items(session, people, rater)
        for item in (mine[0].id, mine[2].id):
            code_and_finish(session, people, rater, item, CODED[rater])
