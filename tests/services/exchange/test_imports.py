"""Ratings and segment imports (all-or-nothing, row-numbered errors, idempotent) and the study package
round trip (export, import into a fresh database, export again: identical bytes)."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from annotate.config import Settings
from annotate.db import make_engine, upgrade_database
from annotate.db.engine import session_factory
from annotate.db.models import Assignment, AuditLog, ConsensusTask, Rating, Recording, Segment
from annotate.services import assignments, exchange, rating, studies
from annotate.services.actor import Actor
from annotate.services.errors import ImportRejected, PermissionDenied, ServiceError
from tests.support.signing import sign as _sign

GOOD = """film,segment,rater,dimension,value,purpose,note
CODE0,1,r1,sensitivity_nondistress,3,,paper form 12
CODE0,1,r1,intrusiveness,2,,paper form 12
CODE0,1,r1,positive_regard,4,,
CODE0,1,r2,sensitivity_nondistress,1,reliability,
CODE0,1,r2,intrusiveness,2,reliability,
CODE0,1,r2,positive_regard,4,reliability,
CODE1,2,r2,intrusiveness,1,,
"""


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_ratings_import_creates_and_is_idempotent(session, people, study):
    res = people["res"]
    got = exchange.import_ratings(session, res, study, GOOD, source="paper.csv")
    assert (got.created, got.unchanged, got.assignments_created, got.assignments_done) == (7, 0, 3, 2)
    assert count(session, Rating) == 7
    a = session.scalar(select(Assignment).where(Assignment.purpose == "primary", Assignment.status == "done"))
    assert a.note == "paper form 12"
    # Both raters are done on CODE0 segment 1 and differ by 2 on sensitivity: a consensus task opens.
    assert [t.dimension for t in session.scalars(select(ConsensusTask))] == ["sensitivity_nondistress"]
    again = exchange.import_ratings(session, res, study, GOOD.encode("utf-8-sig"), source="paper.csv")
    assert (again.created, again.unchanged, again.assignments_created) == (0, 7, 0)
    assert count(session, Rating) == 7 and count(session, Assignment) == 3
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "ratings.import")).all()
    assert len(audit) == 2 and audit[0].detail["source"] == "paper.csv"


def test_ratings_import_reports_every_bad_row_and_writes_nothing(session, people, study):
    bad = """film;segment;rater;dimension;value
CODE0;1;r1;sensitivity_nondistress;3
NOPE;1;r1;intrusiveness;2
CODE0;9;r1;intrusiveness;2
CODE0;1;res;intrusiveness;2
CODE0;1;r1;sensitivty_nondistress;2
CODE0;1;r1;intrusiveness;7
CODE0;1;r1;sensitivity_nondistress;3
CODE4;1;r1;intrusiveness;2
CODE0;x;r1;intrusiveness;2
CODE0;2;r1;intrusiveness;
"""
    with pytest.raises(ImportRejected) as caught:
        exchange.import_ratings(session, people["res"], study, bad)
    rows = {e.row: e.message for e in caught.value.errors}
    assert sorted(rows) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "NOPE" in rows[3] and "segments 1 to 2" in rows[4] and "not a rater" in rows[5]
    assert "did you mean 'sensitivity_nondistress'" in rows[6] and "between 1 and 4" in rows[7]
    assert "already on row 2" in rows[8] and "not an assessment film" in rows[9]  # CODE4 is the intervention film
    assert "whole number" in rows[10] and "empty" in rows[11]
    assert "row 3:" in str(caught.value) and "nothing was imported" in str(caught.value)
    assert count(session, Rating) == 0 and count(session, Assignment) == 0


def test_ratings_import_refuses_a_different_value_and_a_locked_study(session, people, study):
    exchange.import_ratings(session, people["res"], study, GOOD)
    changed = GOOD.replace("CODE1,2,r2,intrusiveness,1", "CODE1,2,r2,intrusiveness,3")
    with pytest.raises(ImportRejected, match="already scored intrusiveness 1"):
        exchange.import_ratings(session, people["res"], study, changed)
    with pytest.raises(ServiceError, match="missing column film"):
        exchange.import_ratings(session, people["res"], study, "segment,rater,dimension,value\n1,r1,x,1\n")
    studies.set_status(session, people["res"], study, "locked", signature=_sign(session, people["res"]))
    with pytest.raises(ServiceError, match="locked"):
        exchange.import_ratings(session, people["res"], study, GOOD)
    with pytest.raises(PermissionDenied):
        exchange.import_ratings(session, people["r1"], study, GOOD)


def test_ratings_import_fills_an_existing_assignment(session, people, study):
    assignments.assign_segments(session, people["res"], study, ["r1"], mode="all", seed=1)
    aid = session.scalar(
        select(Assignment.id).join(Segment).join(Recording).where(Recording.blind_code == "CODE0", Segment.index == 0)
    )
    rating.save_rating(session, people["r1"], aid, "intrusiveness", 2, expected_version=0)
    got = exchange.import_ratings(
        session, people["res"], study, GOOD.splitlines()[0] + "\n" + "\n".join(GOOD.splitlines()[1:4])
    )
    assert (got.created, got.unchanged, got.assignments_created, got.assignments_done) == (2, 1, 0, 1)


def test_segments_import(session, people, study):
    res = people["res"]
    text = "film,start,end,task\nCODE0,0,1:00,free play\nCODE0,60,120.0,clean-up\nCODE1,0:00:10,50,\n"
    got = exchange.import_segments(session, res, study, text)
    assert (got.films, got.segments, got.unchanged) == (2, 3, 0)
    rec = session.scalar(select(Recording).where(Recording.blind_code == "CODE1"))
    assert [(s.index, s.start_s, s.end_s, s.task_label) for s in rec.segments] == [(0, 10.0, 50.0, None)]
    assert exchange.import_segments(session, res, study, text).unchanged == 2
    bad = "film,start,end\nCODE2,0,30\nCODE2,20,40\nCODE2,50,40\nCODE2,0,500\nXX,0,1\nCODE2,1:99,2\n"
    with pytest.raises(ImportRejected) as caught:
        exchange.import_segments(session, res, study, bad)
    assert [e.row for e in caught.value.errors] == [7]  # times are read first
    with pytest.raises(ImportRejected) as caught:
        exchange.import_segments(session, res, study, bad.rsplit("CODE2,1:99", 1)[0])
    rows = {e.row: e.message for e in caught.value.errors}
    assert "overlaps the segment on row 2" in rows[3] and "must be after start" in rows[4]
    assert "after the end of film CODE2 (120 s)" in rows[5] and "not a film" in rows[6]
    exchange.import_ratings(session, res, study, GOOD.replace("CODE1,2,r2,intrusiveness,1,,\n", ""))
    with pytest.raises(ImportRejected, match="already has 2 assignment"):
        exchange.import_segments(session, res, study, "film,start,end\nCODE0,0,30\n")


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


def test_study_package_round_trip_is_byte_identical(session, people, study, fresh):
    from annotate.db.models import Participant

    p = session.scalar(select(Participant).where(Participant.external_id == "P02"))
    p.covariates, p.per_protocol = {"age": 31.25, "site": "Leiden"}, False
    exchange.import_ratings(session, people["res"], study, GOOD)
    exchange.import_segments(
        session, people["res"], study, "film,start,end,task\nCODE2,0,30.5,free play\nCODE2,30.5,90,\n"
    )
    session.commit()
    with pytest.raises(PermissionDenied, match="after unblinding"):
        exchange.export_study_package(session, people["res"], study)
    first = exchange.export_study_package(session, people["adm"], study)
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        assert zf.namelist() == list(exchange.MEMBERS)
        assert zf.read("ratings.csv").decode().count("\n") == 8
        assert "P02,Control,no,,31.25,Leiden" in zf.read("participants.csv").decode()
    owner = Actor(None, "cli", "command line", "admin")
    other = session_factory(fresh.database_url)()
    try:
        got = exchange.import_study_package(other, owner, first)
        other.commit()
        assert (got.study_key, got.participants, got.films, got.segments, got.ratings) == ("T1", 3, 5, 10, 7)
        assert sorted(got.users_created) == ["clin", "r1", "r2"]
        second = exchange.export_study_package(other, owner, "T1")
        assert second == first
        with pytest.raises(ServiceError, match="already exists"):
            exchange.import_study_package(other, owner, first)
        renamed = exchange.import_study_package
        with pytest.raises(ServiceError, match="already used"):
            renamed(other, owner, first, new_key="T2")
    finally:
        other.rollback()
        other.close()
    with pytest.raises(ServiceError, match="not a zip"):
        exchange.import_study_package(session, people["adm"], b"hello")
