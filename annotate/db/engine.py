"""Engine and session factory; migrations run on start.

SQLite gets WAL (readers do not block the writer), foreign keys on, and a busy timeout so two
browser sessions saving at once wait instead of failing. PostgreSQL comes from the URL. Both get a
connection pool of ``POOL_SIZE`` + ``POOL_MAX_OVERFLOW`` (80) connections, enough for 50 raters saving
at once in one server (PostgreSQL's default ``max_connections`` is 100).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Connections per process: a Streamlit server holds one per request being served, so 50 raters
# saving at once need 50. QueuePool's default (5 + 10 overflow) made 0.2% of saves wait 30 s and fail.
POOL_SIZE = 10
POOL_MAX_OVERFLOW = 70
POOL_TIMEOUT_S = 30
_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*['\"]?([\w-]+|None)['\"]?", re.M)


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the pragmas this project relies on.

    Examples
    --------
    >>> engine = make_engine("sqlite://")
    >>> with engine.connect() as c:
    ...     c.exec_driver_sql("PRAGMA foreign_keys").scalar()
    1
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        pool = (
            {"pool_size": POOL_SIZE, "max_overflow": POOL_MAX_OVERFLOW, "pool_timeout": POOL_TIMEOUT_S}
            if path and path != ":memory:"
            else {}
        )
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            if path and path != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(
        url,
        # Times read back in UTC whatever the server's TimeZone, so every export writes +00:00
        # (the columnar reader, whose Arrow timestamps are UTC, writes the same bytes).
        connect_args={"options": "-c TimeZone=UTC"},
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_MAX_OVERFLOW,
        pool_timeout=POOL_TIMEOUT_S,
        pool_recycle=1800,
    )


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration's id, read from the migration files without importing Alembic.

    Examples
    --------
    >>> from alembic.script import ScriptDirectory
    >>> head_revision() == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    True
    """
    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text()))
        revisions.add(found["revision"])
        parents.add(found.get("down_revision", "None"))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({sorted(heads)}); merge them into one")
    return heads.pop()


def _current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


def upgrade_database(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent; runs on every start).

    A database already at the newest revision is left alone without importing Alembic, so a
    short command (``annotate users list``) starts fast.
    """
    if _current_revision(engine) == head_revision():
        return
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@lru_cache(maxsize=8)
def _factory(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    upgrade_database(engine)
    return sessionmaker(engine, expire_on_commit=False)


def session_factory(url: str) -> sessionmaker[Session]:
    """A cached, migrated session factory for ``url`` (one engine per process and URL)."""
    return _factory(url)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
