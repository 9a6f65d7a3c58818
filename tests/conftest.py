"""Shared fixtures: settings in a temp folder, a migrated database (SQLite, and PostgreSQL when
ANNOTATE_TEST_POSTGRES_URL is set), users of each role, small films."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select, text

from annotate.config import Settings
from annotate.db import make_engine, upgrade_database
from annotate.db.engine import session_factory
from annotate.db.models import Participant, Recording, Segment, Study
from annotate.services import accounts, studies

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("ANNOTATE_TEST_POSTGRES_URL")

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason="ANNOTATE_TEST_POSTGRES_URL not set")],
    ),
]


def _worker_postgres_url(url: str) -> str:
    """Each xdist worker gets its own database (test_gw0, …) so resets do not collide."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def settings(request, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        url = _worker_postgres_url(PG_URL)
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path / 'annotate.db'}"
    s = Settings.from_env(
        {
            "ANNOTATE_DATA_DIR": str(tmp_path / "data"),
            "ANNOTATE_DATABASE_URL": url,
            "ANNOTATE_SECRET_KEY": "test-secret",
            "ANNOTATE_SCHEMES_DIR": str(REPO / "rating_schemes"),
        }
    )
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return s


@pytest.fixture
def session(settings: Settings):
    from annotate.db.engine import _factory

    _factory.cache_clear()  # a reset PostgreSQL schema must not reuse a stale engine
    s = session_factory(settings.database_url)()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def people(session):
    """One user of each role; returns username -> Actor."""
    made = {}
    for name, role in [
        ("res", "researcher"),
        ("adm", "admin"),
        ("r1", "rater"),
        ("r2", "rater"),
        ("clin", "clinician"),
    ]:
        made[name] = accounts.create_user(session, None, name, f"{name}-password", role)
    session.commit()
    return made


@pytest.fixture
def env(settings, monkeypatch):
    """Point get_settings() (used by routes and pages) at the test database."""
    monkeypatch.setenv("ANNOTATE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANNOTATE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ANNOTATE_SECRET_KEY", "test-secret")
    monkeypatch.setenv("ANNOTATE_SCHEMES_DIR", str(settings.schemes_dir))
    return settings


@pytest.fixture
def study(session, settings, people, tmp_path):
    """Study T1 (NICHD scheme): 3 participants, 4 ready assessment films + 1 intervention film
    (fake proxy bytes, no media work), 2 segments each."""
    res = people["res"]
    studies.create_study(
        session,
        res,
        settings,
        "T1",
        arms="VIPP,Control",
        timepoints="baseline,month5",
        scheme_key="nichd_sensitivity_intrusiveness",
        segment_seconds=60,
    )
    studies.import_participants(
        session, res, "T1", "participant,arm,clinician\nP01,VIPP,clin\nP02,Control,\nP03,VIPP,\n"
    )
    st = session.scalar(select(Study).where(Study.key == "T1"))
    pmap = {p.external_id: p for p in session.scalars(select(Participant))}
    proxy = settings.media_dir / "proxies" / "fixture.mp4"  # in the media store, named by its key
    proxy.parent.mkdir(parents=True, exist_ok=True)
    proxy.write_bytes(b"\x00" * 4096)
    codes = []
    for i, (pid, tp, purpose) in enumerate(
        [
            ("P01", 0, "assessment"),
            ("P01", 1, "assessment"),
            ("P02", 0, "assessment"),
            ("P03", 1, "assessment"),
            ("P01", None, "intervention"),
        ]
    ):
        rec = Recording(
            study_id=st.id,
            participant_id=pmap[pid].id,
            timepoint_id=st.timepoints[tp].id if tp is not None else None,
            purpose=purpose,
            blind_code=f"CODE{i}",
            original_name=f"IMG_2024_{pid}.mov",
            proxy_path="proxies/fixture.mp4",
            status="ready",
            duration_s=120.0,
            fps=25.0,
            width=640,
            height=480,
            has_audio=True,
            session_no=1 if purpose == "intervention" else None,
        )
        session.add(rec)
        session.flush()
        for k in range(2):
            session.add(Segment(recording_id=rec.id, index=k, start_s=60.0 * k, end_s=60.0 * (k + 1)))
        codes.append(rec.blind_code)
    session.commit()
    return "T1"


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-API server (moto's standalone ``moto_server``) on a free 127.0.0.1 port for the
    whole run; yields its endpoint URL. Tests make their own bucket (see ``s3_env``)."""
    from tests.support.s3 import start_moto

    with start_moto() as endpoint:
        yield endpoint


@pytest.fixture
def s3_env(s3_server, monkeypatch, request):
    """Environment for an S3 media store in a fresh bucket of the moto server (also set in os.environ)."""
    from tests.support.s3 import make_bucket

    env = make_bucket(s3_server)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env
