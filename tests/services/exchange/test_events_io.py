"""Coded events in and out: the long CSV, BORIS tabular events and ELAN, round trips and strict imports."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from sqlalchemy import delete, func, select

from annotate.db.models_events import Event
from annotate.services import events, exchange
from annotate.services.errors import ImportRejected, PermissionDenied
from tests.services.events.conftest import code_study, event_study  # noqa: F401  (fixture)


@pytest.fixture
def coded(session, people, event_study):  # noqa: F811
    code_study(session, people)
    return event_study


def snapshot(session, people):
    return [
        (r.blind_code, r.segment, r.rater, r.group, r.code, r.modifiers, r.onset, r.offset)
        for r in events.study_events(session, people["res"], "EV").rows
    ]


def wipe(session) -> None:
    session.execute(delete(Event))
    session.commit()


def n_events(session) -> int:
    return session.scalar(select(func.count()).select_from(Event))


def test_events_csv_has_the_columns_and_is_blinded(session, people, coded) -> None:
    buf = io.StringIO()
    n = exchange.write_events_csv(session, people["res"], "EV", buf)
    session.commit()
    text = buf.getvalue()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["study", "film", "rater", "group", "code", "modifiers", "onset", "offset", "duration"]
    assert n == len(rows) - 1 == 22
    touch = next(r for r in rows if r[4] == "touch_caregiving")
    assert touch == [
        "EV",
        "EV0",
        "r2",
        "maternal_touch",
        "touch_caregiving",
        "face|hands",
        "12.5",
        "18",
        "5.5",
    ]  # numbers as the shortest text that reads back (csvio)
    point = next(r for r in rows if r[4] == "now_moment")
    assert point[7:] == ["", ""]
    assert "IMG_" not in text and "P01" not in text and "VIPP" not in text
    with pytest.raises(PermissionDenied):
        exchange.write_events_csv(session, people["r1"], "EV", io.StringIO())


def test_csv_round_trip_is_lossless_and_a_second_import_changes_nothing(session, people, coded) -> None:
    before = snapshot(session, people)
    buf = io.StringIO()
    exchange.write_events_csv(session, people["res"], "EV", buf)
    wipe(session)
    res = exchange.import_events(session, people["res"], "EV", buf.getvalue().encode(), source="e.csv")
    session.commit()
    assert (res.created, res.unchanged, res.assignments_created) == (22, 0, 0)
    assert snapshot(session, people) == before
    again = exchange.import_events(session, people["res"], "EV", buf.getvalue().encode())
    assert (again.created, again.unchanged) == (0, 22)


def test_boris_round_trip(session, people, coded) -> None:
    before = snapshot(session, people)
    text = exchange.boris_events_csv(session, people["res"], "EV")
    header = next(csv.reader(io.StringIO(text)))
    assert header[:3] == ["Observation id", "Observation date", "Description"]
    assert {"Behavior", "Behavioral category", "Modifier #1", "Modifier #2", "Behavior type", "Time"} <= set(header)
    kinds = [row[header.index("Behavior type")] for row in csv.reader(io.StringIO(text))][1:]
    assert kinds.count("START") == kinds.count("STOP") == 12 and kinds.count("POINT") == 10
    wipe(session)
    res = exchange.import_events(session, people["res"], "EV", text, fmt="boris")
    session.commit()
    assert res.created == 22 and snapshot(session, people) == before


def test_elan_round_trip_per_film(session, people, coded) -> None:
    before = snapshot(session, people)
    data = exchange.elan_events_zip(session, people["res"], "EV")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    assert sorted(files) == ["EV0.eaf", "EV1.eaf"]
    assert exchange.eaf_tiers(files["EV0.eaf"])[:2] == ["r1/infant_gaze", "r1/maternal_touch"]
    wipe(session)
    for name, eaf in files.items():
        exchange.import_events(session, people["res"], "EV", eaf, fmt="elan", film=name.removesuffix(".eaf"))
    session.commit()
    assert snapshot(session, people) == before


def test_missing_items_are_created_done_and_counted(session, people, event_study) -> None:  # noqa: F811
    text = (
        "film,rater,group,code,modifiers,onset,offset\r\n"
        "EV2,r1,now_moment,now_moment,,70.5,\r\n"
        "EV2,r2,now_moment,now_moment,,70.7,\r\n"
    )
    wipe_assignments = session.execute(select(func.count()).select_from(Event)).scalar()
    assert wipe_assignments == 0
    res = exchange.import_events(session, people["res"], "EV", text)
    session.commit()
    assert (res.created, res.assignments_created) == (2, 0)  # the engine's items exist (both raters)
    # items are not done yet: the timing stats count done items only
    with pytest.raises(Exception, match="no done event coding"):
        events.study_timing_frame(session, people["res"], "EV")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("NOPE,r1,now_moment,1,", "row 3: film 'NOPE' is not an assessment film"),
        ("EV0,ghost,now_moment,1,", "row 3: rater 'ghost' is not a rater account"),
        ("EV0,res,now_moment,1,", "row 3: rater 'res' is not a rater account"),
        ("EV0,r1,wave,1,", "row 3: code 'wave' is not in the scheme"),
        ("EV0,r1,now_moment,1,3", "row 3: now_moment is a point event"),
        ("EV0,r1,gaze_parent,1,", "row 3: gaze_parent is a state; give its offset"),
        ("EV0,r1,gaze_parent,5,4", "row 3: offset 4 is before onset 5"),
        ("EV0,r1,now_moment,soon,", "row 3: onset 'soon' is not a number"),
        ("EV0,r1,now_moment,-1,", "row 3: onset '-1' must be a finite number"),
        ("EV0,r1,now_moment,500,", "row 3: onset 500 s is in no segment"),
        ("EV0,r1,gaze_parent,50,70", "row 3: the event runs past the end of its segment (60 s)"),
        ("EV0,,now_moment,1,", "row 3: rater is empty"),
    ],
)
def test_a_bad_row_rejects_the_whole_csv_naming_it(session, people, event_study, line, expected) -> None:  # noqa: F811
    text = f"film,rater,code,onset,offset\nEV0,r1,now_moment,2,\n{line}\n"
    with pytest.raises(ImportRejected, match="nothing was imported") as caught:
        exchange.import_events(session, people["res"], "EV", text)
    assert expected in str(caught.value)
    session.rollback()
    assert n_events(session) == 0


def test_modifiers_and_groups_are_checked(session, people, event_study) -> None:  # noqa: F811
    text = (
        "film;rater;group;code;modifiers;onset;offset\n"
        "EV0;r1;maternal_touch;touch_playful;hands|elbow;1;2\n"
        "EV0;r1;vocalisation;touch_playful;;1;2\n"
        "EV0;r1;nogroup;touch_playful;;1;2\n"
    )
    with pytest.raises(ImportRejected) as caught:
        exchange.import_events(session, people["res"], "EV", "\ufeff" + text)
    message = str(caught.value)
    assert "row 2: modifier 'elbow' is not allowed for touch_playful" in message
    assert "row 3: code 'touch_playful' is not in group 'vocalisation'" in message
    assert "row 4: group 'nogroup' is not in the scheme" in message


def test_boris_pairing_errors_name_rows(session, people, event_study) -> None:  # noqa: F811
    text = (
        "Observation id,Behavior,Behavior type,Time\n"
        "EV0/r1,gaze_parent,STOP,1\n"
        "EV0/r1,gaze_away,START,2\n"
        "EV0/r1,now_moment,BLINK,3\n"
        "EV0,now_moment,POINT,3\n"
    )
    with pytest.raises(ImportRejected) as caught:
        exchange.import_events(session, people["res"], "EV", text, fmt="boris")
    message = str(caught.value)
    assert "row 2: STOP of gaze_parent without a START" in message
    assert "row 3: START of gaze_away has no STOP" in message
    assert "row 4: Behavior type 'BLINK'" in message
    assert "row 5: observation id 'EV0' is not <film>/<rater>" in message
    ok = "Observation id,Behavior,Behavior type,Time\nanything,now_moment,POINT,3\n"
    res = exchange.import_events(session, people["res"], "EV", ok, fmt="boris", film="EV0", rater="r2")
    assert res.created == 1
