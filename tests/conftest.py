"""Shared fixtures: settings in a temp folder, a migrated database (SQLite, and PostgreSQL when
ANNOTATE_TEST_POSTGRES_URL is set), users of each role, small films."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from annotate.config import Settings
from annotate.db import make_engine, upgrade_database
from annotate.db.engine import session_factory
from annotate.services import users

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("ANNOTATE_TEST_POSTGRES_URL")

BACKENDS = ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason="ANNOTATE_TEST_POSTGRES_URL not set")])]


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def settings(request, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        url = PG_URL
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
    for name, role in [("res", "researcher"), ("adm", "admin"), ("r1", "rater"), ("r2", "rater"), ("clin", "clinician")]:
        made[name] = users.create_user(session, None, name, f"{name}-password", role)
    session.commit()
    return made
