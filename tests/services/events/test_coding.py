"""The rater's events: validation against the scheme, exclusive groups, compare-and-set, audit, done."""

from __future__ import annotations

import dataclasses
import math

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from annotate.db.engine import session_factory
from annotate.db.models import AuditLog, Study
from annotate.db.models_events import Event
from annotate.services import events, rating
from annotate.services.errors import ConflictError, NotFound, PermissionDenied, ReasonRequired, ServiceError
from annotate.stats.timing import timing_agreement
from tests.services.events.conftest import items


def first_item(session, people, rater="r1") -> int:
    return items(session, people, rater)[0].id


def test_points_states_and_open_states_are_listed_by_onset(session, people, event_study) -> None:
    r1 = people["r1"]
    a = first_item(session, people)
    events.add_event(session, r1, a, "vocalisation", "infant_vocal", 12.5, modifiers=["positive"])
    events.add_event(session, r1, a, "maternal_touch", "touch_playful", 3.0, 8.25, modifiers=["hands", "torso"])
    opened = events.add_event(session, r1, a, "now_moment", "now_moment", 1.0)
    running = events.add_event(session, r1, a, "infant_gaze", "gaze_parent", 20.0)
    session.commit()
    coding = events.event_coding(session, r1, a)
    assert [(e.code, e.onset, e.offset) for e in coding.events] == [
        ("now_moment", 1.0, None),
        ("touch_playful", 3.0, 8.25),
        ("infant_vocal", 12.5, None),
        ("gaze_parent", 20.0, None),
    ]
    assert coding.events[1].modifiers == ("hands", "torso") and coding.events[1].duration == 8.25 - 3.0
    assert not opened.is_open and running.is_open and coding.open_states == (running,)
    assert coding.groups[0].key == "infant_gaze"
    # the rater's views hold the event's own fields only
    assert {f.name for f in dataclasses.fields(events.EventView)} == {
        "id",
        "group",
        "code",
        "kind",
        "modifiers",
        "onset",
        "offset",
        "version",
    }


def test_starting_a_state_in_an_exclusive_group_closes_the_running_one(session, people, event_study) -> None:
    r1 = people["r1"]
    a = first_item(session, people)
    events.add_event(session, r1, a, "infant_gaze", "gaze_parent", 2.0)
    events.add_event(session, r1, a, "infant_gaze", "gaze_away", 5.5)
    events.add_event(session, r1, a, "vocalisation", "infant_vocal", 6.0)  # a point in another group: no effect
    session.commit()
    shown = events.event_coding(session, r1, a).events
    assert [(e.code, e.onset, e.offset, e.version) for e in shown] == [
        ("gaze_parent", 2.0, 5.5, 2),
        ("gaze_away", 5.5, None, 1),
        ("infant_vocal", 6.0, None, 1),
    ]
    # a non-exclusive group keeps overlapping states (touch is exclusive; vocalisation has points only)
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-4:] == ["event.add", "event.close", "event.add", "event.add"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("touch", "touch_playful", 1.0, 2.0), "no event group 'touch'"),
        (("maternal_touch", "gaze_parent", 1.0, 2.0), "has no code 'gaze_parent'"),
        (("vocalisation", "infant_vocal", 1.0, 2.0), "is a point event"),
        (("maternal_touch", "touch_playful", 5.0, 4.0), "offset 4.000 s is before the onset 5.000 s"),
        (("maternal_touch", "touch_playful", 61.0, 62.0), "outside this item (0.000 to 60.000 s"),
        (("maternal_touch", "touch_playful", 50.0, 75.0), "after the end of this item"),
        (("maternal_touch", "touch_playful", math.nan, 2.0), "finite number of seconds"),
    ],
)
def test_events_that_do_not_fit_the_scheme_or_the_item_are_refused(session, people, event_study, args, expected):
    with pytest.raises(ServiceError, match=expected.replace("(", r"\(").replace(".", r"\.")):
        events.add_event(session, people["r1"], first_item(session, people), *args)
    assert session.scalar(select(Event.id)) is None


def test_modifiers_must_be_the_codes_own(session, people, event_study) -> None:
    a = first_item(session, people)
    with pytest.raises(ServiceError, match="no modifier 'elbow'"):
        events.add_event(session, people["r1"], a, "maternal_touch", "touch_playful", 1, 2, modifiers=["elbow"])
    with pytest.raises(ServiceError, match="no modifier '😀'"):
        events.add_event(session, people["r1"], a, "now_moment", "now_moment", 1, modifiers=["😀"])
    with pytest.raises(ServiceError, match="given twice"):
        events.add_event(session, people["r1"], a, "maternal_touch", "touch_playful", 1, 2, modifiers=["face", "face"])


def test_only_the_assigned_rater_sees_or_changes_the_events(session, people, event_study) -> None:
    a = first_item(session, people, "r1")
    e = events.add_event(session, people["r1"], a, "now_moment", "now_moment", 4.0)
    session.commit()
    with pytest.raises(NotFound):
        events.event_coding(session, people["r2"], a)
    with pytest.raises(NotFound):
        events.add_event(session, people["r2"], a, "now_moment", "now_moment", 4.0)
    with pytest.raises(NotFound):
        events.edit_event(session, people["r2"], e.id, expected_version=1, onset=5.0)
    with pytest.raises(NotFound):
        events.delete_event(session, people["r2"], e.id, expected_version=1)
    with pytest.raises(PermissionDenied):
        events.event_coding(session, people["res"], a)
    assert session.get(Event, e.id).onset_s == 4.0


def test_edit_is_one_compare_and_set_statement(session, people, event_study) -> None:
    r1 = people["r1"]
    a = first_item(session, people)
    e = events.add_event(session, r1, a, "maternal_touch", "touch_playful", 3.0, 8.0)
    session.commit()
    statements: list[str] = []

    def seen(_conn, _cursor, statement, _params, _context, _many) -> None:
        statements.append(statement)

    engine = session.get_bind()
    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        after = events.edit_event(
            session, r1, e.id, expected_version=1, code="touch_caregiving", offset=9.0, modifiers=["face"]
        )
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    session.commit()
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE CODED_EVENT")]
    assert len(updates) == 1 and "version" in updates[0].split("WHERE", 1)[1]
    assert (after.code, after.onset, after.offset, after.modifiers, after.version) == (
        "touch_caregiving",
        3.0,
        9.0,
        ("face",),
        2,
    )


def test_two_windows_editing_the_same_event_the_second_is_refused(session, settings, people, event_study) -> None:
    r1 = people["r1"]
    a = first_item(session, people)
    e = events.add_event(session, r1, a, "maternal_touch", "touch_playful", 3.0, 8.0)
    session.commit()
    factory = session_factory(settings.database_url)
    one, two = factory(), factory()
    try:
        seen_one = events.event_coding(one, r1, a).events[0]
        seen_two = events.event_coding(two, r1, a).events[0]
        assert seen_one.version == seen_two.version == 1
        events.edit_event(one, r1, e.id, expected_version=seen_one.version, onset=4.0)
        one.commit()
        with pytest.raises(ConflictError, match="changed in another window"):
            events.edit_event(two, r1, e.id, expected_version=seen_two.version, onset=2.0)
        two.rollback()
        with pytest.raises(ConflictError):
            events.delete_event(two, r1, e.id, expected_version=seen_two.version)
        two.rollback()
    finally:
        one.close()
        two.close()
    session.expire_all()
    row = session.get(Event, e.id)
    assert (row.onset_s, row.version) == (4.0, 2)


def test_delete_with_the_shown_version_and_the_audit_trail(session, people, event_study) -> None:
    r1 = people["r1"]
    a = first_item(session, people)
    e = events.add_event(session, r1, a, "vocalisation", "parent_vocal", 7.0)
    e2 = events.edit_event(session, r1, e.id, expected_version=1, onset=7.2)
    session.commit()
    with pytest.raises(ConflictError):
        events.delete_event(session, r1, e.id, expected_version=1)
    session.rollback()
    events.delete_event(session, r1, e.id, expected_version=e2.version)
    session.commit()
    assert session.get(Event, e.id) is None
    with pytest.raises(NotFound):
        events.delete_event(session, r1, e.id, expected_version=e2.version)
    log = session.scalars(select(AuditLog).where(AuditLog.action.like("event.%")).order_by(AuditLog.id)).all()
    assert [x.action for x in log] == ["event.add", "event.edit", "event.delete"]
    study_id = session.scalar(select(Study.id).where(Study.key == "EV"))
    assert all(x.study_id == study_id and x.user_id == r1.user_id for x in log)
    assert log[1].detail["before"]["onset"] == 7.0 and log[1].detail["after"]["onset"] == 7.2


def test_an_open_state_blocks_done_and_done_work_needs_a_reason(session, people, event_study) -> None:
    r1 = people["r1"]
    a = first_item(session, people)
    rating.save_rating(session, r1, a, "codability", 3, expected_version=0)
    running = events.add_event(session, r1, a, "infant_affect", "infant_positive", 10.0)
    with pytest.raises(events.OpenStatesAtDone, match=r"infant_positive from 10\.000 s") as caught:
        events.mark_done(session, r1, a)
    assert caught.value.open_states == (running,)
    events.edit_event(session, r1, running.id, expected_version=1, offset=14.0)
    events.mark_done(session, r1, a)
    session.commit()
    reason = 'late fix\r\n\t"quoted" 😀 ' + "x" * 10_000
    with pytest.raises(ReasonRequired):
        events.add_event(session, r1, a, "now_moment", "now_moment", 30.0)
    events.add_event(session, r1, a, "now_moment", "now_moment", 30.0, reason=reason)
    session.commit()
    last = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert last.detail["reason"] == reason.strip()


def test_a_locked_study_refuses_changes(session, people, event_study) -> None:
    r1 = people["r1"]
    a = first_item(session, people)
    e = events.add_event(session, r1, a, "now_moment", "now_moment", 3.0)
    session.scalar(select(Study).where(Study.key == "EV")).status = "locked"
    session.commit()
    with pytest.raises(PermissionDenied, match="locked"):
        events.edit_event(session, r1, e.id, expected_version=1, onset=4.0, reason="x")
    assert events.event_coding(session, r1, a).editable is False


def test_a_study_read_into_the_timing_frame(session, people, event_study) -> None:
    """r1 and r2 code the second segment (60-120 s) of film EV0; times become segment-relative."""
    r1_item = items(session, people, "r1")[1].id
    r2_item = items(session, people, "r2")[1].id
    for who, item, shift in (("r1", r1_item, 0.0), ("r2", r2_item, 0.3)):
        actor = people[who]
        events.add_event(session, actor, item, "infant_gaze", "gaze_parent", 61.0 + shift, 70.0)
        events.add_event(session, actor, item, "vocalisation", "infant_vocal", 80.0 + shift)
        rating.save_rating(session, actor, item, "codability", 3, expected_version=0)
    events.mark_done(session, people["r1"], r1_item)
    session.commit()
    with pytest.raises(Exception, match="no session is coded by two"):
        events.study_timing_frame(session, people["res"], "EV")  # r2 not done yet: only r1 counts
    events.mark_done(session, people["r2"], r2_item)
    session.commit()
    with pytest.raises(PermissionDenied):
        events.study_events(session, people["r1"], "EV")
    table, frame = events.study_timing_frame(session, people["res"], "EV")
    assert frame == pytest.approx(1 / 25)
    assert table.sessions == ("EV0#2",) and table.session_length.tolist() == [60.0]
    assert sorted(table.onset.tolist()) == pytest.approx([1.0, 1.3, 20.0, 20.3])
    result = timing_agreement(table, tolerance=0.5, unit=frame, curve=())
    assert result.groups["infant_gaze"].event.n_matched == 1 and result.groups["vocalisation"].event.n_matched == 1
    rows = events.study_events(session, people["res"], "EV").rows
    assert {(r.rater, r.code, r.onset, r.offset) for r in rows} >= {("r2", "gaze_parent", 61.3, 70.0)}


def test_key_presses_start_stop_and_mark_like_the_player_sends_them(session, people, event_study) -> None:
    r1 = people["r1"]
    a = first_item(session, people)

    def press(action: str, code: str, t: float) -> events.EventView:
        return events.apply_coding_op(session, r1, a, events.CodingOp(f"op{t}", action, code, t))  # type: ignore[arg-type]

    press("start", "gaze_parent", 1.04)
    press("start", "gaze_away", 3.2)  # exclusive: closes gaze_parent at 3.2
    press("point", "infant_vocal", 4.0)
    press("start", "touch_playful", 4.4)
    stopped = press("stop", "touch_playful", 6.0)
    session.commit()
    assert stopped.offset == 6.0 and stopped.version == 2
    coded = [(e.code, e.onset, e.offset) for e in events.event_coding(session, r1, a).events]
    assert coded == [
        ("gaze_parent", 1.04, 3.2),
        ("gaze_away", 3.2, None),
        ("infant_vocal", 4.0, None),
        ("touch_playful", 4.4, 6.0),
    ]
    with pytest.raises(ServiceError, match=r"already running since 3\.200 s"):
        press("start", "gaze_away", 5.0)
    with pytest.raises(ServiceError, match="not running"):
        press("stop", "touch_playful", 7.0)
    with pytest.raises(ServiceError, match="cannot stop there or earlier"):
        press("stop", "gaze_away", 2.0)
    with pytest.raises(ServiceError, match="cannot stop there or earlier"):
        press("stop", "gaze_away", 3.2)  # a state of no length
    with pytest.raises(ServiceError, match="is a point"):
        press("start", "infant_vocal", 5.0)
    with pytest.raises(ServiceError, match="no code 'tickle'"):
        press("point", "tickle", 5.0)
    # another rater's item is not found, as for scores
    with pytest.raises(NotFound):
        events.apply_coding_op(session, people["r2"], a, events.CodingOp("x", "point", "infant_vocal", 5.0))
