"""Nothing lost on the way out and back in: notes holding every character a person can type, and
full-precision numbers, through csv, xlsx, parquet, sav, history, ELAN, the study package and the
ratings import; read back with independent readers (pandas, Python's csv, openpyxl, pyarrow,
pyreadstat, xml.dom.minidom)."""

from __future__ import annotations

import csv
import io
import zipfile
from xml.dom import minidom

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from annotate.config import Settings
from annotate.db import make_engine, upgrade_database
from annotate.db.engine import session_factory
from annotate.db.models import Assignment, ConsensusTask, Rating, RatingHistory, Segment
from annotate.reports.csvio import format_number, unguard
from annotate.services import assignments, exchange, rating
from annotate.services.actor import Actor

DIMS = ("sensitivity_nondistress", "intrusiveness", "positive_regard")
NOTES = [
    "fine\r=1+2",
    'Mother said "stop", then smiled',
    "  leading, trailing; and\ttab  ",
    "line one\r\nline two\nline three",
    "'=1+1 was a joke",
    "-3 apples @noon +1",
    "＝ full-width, 日本語, مرحبا, 😀👶🏽",
    "long " + "x" * 10_000,
]
THIRD = 100 / 3  # 33.333333333333336: a segment boundary that {:.3f} or {:g} would change


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.fixture
def noted(session, people, study):
    """r1 scores all 8 assessment segments; each note is one of NOTES; segment 1 of every film ends
    (and segment 2 starts) at 100/3 s."""
    for seg in session.scalars(select(Segment)):
        if seg.index == 0:
            seg.end_s = THIRD
        else:
            seg.start_s = THIRD
    assignments.assign_segments(session, people["res"], study, ["r1"], mode="all", seed=3)
    session.commit()
    r1 = people["r1"]
    for k, item in enumerate(rating.rater_queue(session, r1).items):
        for d, dim in enumerate(DIMS):
            rating.save_rating(session, r1, item.assignment_id, dim, 1 + (k + d) % 4, expected_version=0)
        rating.save_note(session, r1, item.assignment_id, NOTES[k], expected_version=0)
        rating.mark_done(session, r1, item.assignment_id)
    session.commit()
    return study


def _expected(session) -> dict[tuple[str, int, str], tuple[float, str]]:
    out = {}
    for a in session.scalars(select(Assignment)):
        for r in session.scalars(select(Rating).where(Rating.assignment_id == a.id)):
            out[(a.segment.recording.blind_code, a.segment.index + 1, r.dimension)] = (r.value, a.note)
    return out


def test_ratings_csv_is_one_record_per_rating_for_every_reader(session, people, noted):
    data = exchange.export_file(session, people["res"], noted, "csv", "blinded").data
    want = _expected(session)
    assert len(want) == 8 * 3
    # Python's csv, and our own strict reader
    got = {
        (r["recording"], int(r["segment"]), r["dimension"]): (float(r["value"]), unguard(r["note"]))
        for r in _rows(data)
    }
    assert got == want
    # pandas: same number of records, same notes and numbers
    df = pd.read_csv(io.BytesIO(data), dtype={"note": str, "recording": str}, keep_default_na=False)
    assert len(df) == len(want)
    assert sorted(unguard(n) for n in df["note"]) == sorted(n for _, n in want.values())
    assert set(df["segment_end_s"]) | set(df["segment_start_s"]) == {0.0, THIRD, 120.0}
    # the CR note is quoted, so "=1+2" never begins a record; every record begins with the study key
    assert ',"fine\r=1+2",' in data.decode()
    records = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert len(records) == 1 + 8 * 3 and {r[0] for r in records[1:]} == {"T1"}


def test_csv_xlsx_parquet_and_sav_carry_the_same_values_times_and_notes(session, people, noted):
    from openpyxl import load_workbook

    res = people["res"]

    def table(records):
        return {
            (r["recording"], int(r["segment"]), r["dimension"]): (
                float(r["value"]),
                float(r["segment_start_s"]),
                float(r["segment_end_s"]),
                r["note"],
            )
            for r in records
        }

    from_csv = table(
        {**r, "note": unguard(r["note"])}
        for r in _rows(exchange.export_file(session, res, noted, "csv", "blinded").data)
    )
    wb = load_workbook(io.BytesIO(exchange.export_file(session, res, noted, "xlsx", "blinded").data))
    ws = wb["ratings"]
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    cells = list(ws.iter_rows(min_row=2))
    assert all(c.data_type != "f" for row in cells for c in row)
    assert {c.value: c.quotePrefix for row in cells for c in row if isinstance(c.value, str)}["'=1+1 was a joke"]
    from_xlsx = table(dict(zip(header, [c.value for c in row], strict=True)) for row in cells)
    pq_table = pq.read_table(io.BytesIO(exchange.export_file(session, res, noted, "parquet", "blinded").data))
    from_parquet = table(pq_table.to_pylist())
    assert from_csv == from_xlsx == from_parquet
    assert {v[3] for v in from_csv.values()} == set(NOTES)
    assert {v[2] for v in from_csv.values()} == {THIRD, 120.0}
    import tempfile

    import pyreadstat

    sav = exchange.export_file(session, res, noted, "sav", "blinded", table="ratings").data

    with tempfile.NamedTemporaryFile(suffix=".sav") as f:
        f.write(sav)
        f.flush()
        df, _meta = pyreadstat.read_sav(f.name)
    # SPSS pads strings with spaces, so trailing spaces cannot survive in .sav (documented)
    assert set(df["note"]) == {n.rstrip(" ") for n in NOTES} and len(df) == len(from_csv)
    assert set(df["segment_end_s"]) == {THIRD, 120.0}


def test_history_csv_keeps_every_note_as_typed(session, people, noted):
    data = exchange.export_file(session, people["res"], noted, "history", "blinded").data
    notes = [unguard(r["new_value"]) for r in _rows(data) if r["dimension"] == "(note)"]
    assert sorted(notes) == sorted(NOTES)
    assert len(pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)) == 8 * 4


def test_elan_keeps_cr_tab_and_leading_spaces(session, people, noted):
    blob = exchange.export_eaf_zip(session, people["res"], noted)
    values = []
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        for name in zf.namelist():
            doc = minidom.parseString(zf.read(name))
            for tier in doc.getElementsByTagName("TIER"):
                if tier.getAttribute("TIER_ID").startswith("note - "):
                    for v in tier.getElementsByTagName("ANNOTATION_VALUE"):
                        values.append("".join(n.data for n in v.childNodes))
    assert sorted(values) == sorted(NOTES)


@pytest.fixture
def fresh(tmp_path) -> Settings:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return Settings.from_env(
        {
            "ANNOTATE_DATA_DIR": str(tmp_path / "fresh"),
            "ANNOTATE_DATABASE_URL": url,
            "ANNOTATE_SECRET_KEY": "x",
            "ANNOTATE_SCHEMES_DIR": str(tmp_path / "no-schemes"),
        }
    )


def test_study_package_with_adversarial_notes_round_trips_byte_identically(session, people, noted, fresh):
    first = exchange.export_study_package(session, people["adm"], noted)
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        ratings_csv = zf.read("ratings.csv")
        segments_csv = zf.read("segments.csv").decode()
    df = pd.read_csv(io.BytesIO(ratings_csv), dtype=str, keep_default_na=False)
    assert len(df) == 8 * 3 and sorted({unguard(n) for n in df["note"]}) == sorted(NOTES)
    assert repr(THIRD) in segments_csv
    owner = Actor(None, "cli", "command line", "admin")
    other = session_factory(fresh.database_url)()
    try:
        got = exchange.import_study_package(other, owner, first)
        other.commit()
        assert got.ratings == 8 * 3
        assert exchange.export_study_package(other, owner, "T1") == first
        assert {a.note for a in other.scalars(select(Assignment))} == set(NOTES)
    finally:
        other.close()


def test_ratings_csv_export_then_import_gives_the_same_values_and_notes(session, people, noted):
    res = people["res"]
    before = _expected(session)
    data = exchange.export_file(session, res, noted, "csv", "blinded").data
    # empty the study's scores (the films and segments stay), then read the export back in
    session.execute(delete(RatingHistory))
    session.execute(delete(ConsensusTask))
    session.execute(delete(Rating))
    session.execute(delete(Assignment))
    session.commit()
    got = exchange.import_ratings(session, res, noted, data, source="export.csv")
    session.commit()
    assert got.created == len(before)
    session.expire_all()
    assert _expected(session) == before
    again = exchange.export_file(session, res, noted, "csv", "blinded").data
    cols = ["recording", "segment", "segment_start_s", "segment_end_s", "rater", "dimension", "value", "note"]
    assert [[r[c] for c in cols] for r in _rows(again)] == [[r[c] for c in cols] for r in _rows(data)]


TEXT = st.one_of(
    st.sampled_from(NOTES),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60),
    st.text(st.sampled_from(list("\r\n\t \"',;=+-@a＝😀")), min_size=1, max_size=30),
)


@hsettings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(notes=st.lists(TEXT, min_size=2, max_size=2))
def test_property_any_note_survives_csv_xlsx_and_import(session, people, noted, notes):
    """Generated notes (CR/LF/TAB/quotes/emoji/formula starts) come back identical from csv (our reader,
    pandas), xlsx (openpyxl) and the ratings import."""
    from openpyxl import load_workbook

    r1, res = people["r1"], people["res"]
    session.expire_all()
    items = list(session.scalars(select(Assignment).order_by(Assignment.id)))[:2]
    for a, note in zip(items, notes, strict=True):
        rating.save_note(session, r1, a.id, note, expected_version=a.note_version, reason="property test")
    session.commit()
    wanted = {a.segment.recording.blind_code + f"_{a.segment.index + 1}": a.note for a in items}
    data = exchange.export_file(session, res, noted, "csv", "blinded").data
    ours = {f"{r['recording']}_{r['segment']}": unguard(r["note"]) for r in _rows(data)}
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    theirs = {f"{c}_{s}": unguard(n) for c, s, n in zip(df["recording"], df["segment"], df["note"], strict=True)}
    assert len(df) == 8 * 3
    wb = load_workbook(io.BytesIO(exchange.export_file(session, res, noted, "xlsx", "blinded").data))
    ws = wb["ratings"]
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    xl = {}
    for row in ws.iter_rows(min_row=2, values_only=True):
        r = dict(zip(header, row, strict=True))
        xl[f"{r['recording']}_{r['segment']}"] = r["note"] or ""
    for k, note in wanted.items():
        assert ours[k] == theirs[k] == xl[k] == note
    assert format_number(THIRD) in data.decode()
