"""Backups of a live SQLite database with the backup API, the media manifest, restore with checksum
checks; and the PostgreSQL pg_dump/pg_restore path documented in annotate.services.exchange.backup."""

from __future__ import annotations

import csv
import hashlib
import shutil
import sqlite3
import subprocess
import threading

import pytest
from sqlalchemy import func, select, text

from annotate.config import Settings
from annotate.db import make_engine
from annotate.db.models import AuditLog, Rating
from annotate.services import exchange
from annotate.services.actor import Actor
from annotate.services.errors import PermissionDenied, ServiceError

OWNER = Actor(None, "cli", "command line", "admin")
RATINGS = "film,segment,rater,dimension,value\nCODE0,1,r1,intrusiveness,2\nCODE1,2,r2,positive_regard,3\n"


def _sqlite_only(settings: Settings) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the backup API path is for SQLite")


@pytest.fixture
def live(settings, session, people, study):
    _sqlite_only(settings)
    exchange.import_ratings(session, people["res"], study, RATINGS)
    session.commit()
    for sub, name, payload in (
        ("originals", "a.mov", b"original-bytes"),
        ("proxies", "b.mp4", b"proxy-bytes"),
        ("thumbs/b", "0001.jpg", b"thumb-bytes"),  # the filmstrip a clinician sees comes back too
    ):
        (settings.media_dir / sub).mkdir(parents=True, exist_ok=True)
        (settings.media_dir / sub / name).write_bytes(payload)
    return settings


def _count(path, table: str) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def test_backup_of_a_live_database(live, tmp_path, people):
    db = exchange.sqlite_path(live.database_url)
    writer = sqlite3.connect(db, timeout=30, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # the app is mid-write: the copy must not wait for it nor see it
    writer.execute("DELETE FROM rating")
    release = threading.Timer(1.5, writer.rollback)  # then the audit entry after the copy can be written
    release.start()
    try:
        got = exchange.backup(live, OWNER, tmp_path / "bk", with_media=True)
    finally:
        release.join()
        writer.close()
    assert _count(got.directory / "annotate.db", "rating") == 2
    con = sqlite3.connect(got.directory / "annotate.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    con.close()
    con = sqlite3.connect(db)
    assert con.execute("SELECT action FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()[0] == "backup"
    con.close()
    rows = list(csv.DictReader((got.directory / "media_manifest.csv").open()))
    assert [r["path"] for r in rows] == ["originals/a.mov", "proxies/b.mp4", "proxies/fixture.mp4", "thumbs/b/0001.jpg"]
    assert rows[0]["sha256"] == hashlib.sha256(b"original-bytes").hexdigest() and rows[0]["bytes"] == "14"
    assert (got.directory / "media" / "proxies" / "b.mp4").read_bytes() == b"proxy-bytes"
    assert (got.media_files, got.media_copied) == (4, True)
    with pytest.raises(ServiceError, match="not empty"):
        exchange.backup(live, OWNER, tmp_path / "bk")
    with pytest.raises(PermissionDenied):
        exchange.backup(live, people["res"], tmp_path / "bk2")


def test_restore_into_an_empty_place_and_verify_checksums(live, tmp_path):
    bk = exchange.backup(live, OWNER, tmp_path / "bk", with_media=True).directory
    target = Settings.from_env(
        {
            "ANNOTATE_DATA_DIR": str(tmp_path / "new"),
            "ANNOTATE_SECRET_KEY": "x",
            "ANNOTATE_SCHEMES_DIR": str(live.schemes_dir),
        }
    )
    got = exchange.restore(target, OWNER, bk)
    assert got.ok and (got.media_checked, got.media_copied) == (4, 4)
    assert _count(target.data_dir / "annotate.db", "rating") == 2
    assert (
        _count(target.data_dir / "annotate.db", "audit_log") == _count(bk / "annotate.db", "audit_log") + 1
    )  # "restore"
    with pytest.raises(ServiceError, match="already holds data"):
        exchange.restore(target, OWNER, bk)
    (target.media_dir / "proxies" / "b.mp4").write_bytes(b"tampered")
    (target.media_dir / "originals" / "a.mov").unlink()
    shutil.rmtree(bk / "media")
    again = exchange.restore(target, OWNER, bk, force=True)
    assert not again.ok and again.missing == ["originals/a.mov"] and again.mismatched == ["proxies/b.mp4"]
    with pytest.raises(ServiceError, match="not an annotate backup"):
        exchange.restore(target, OWNER, tmp_path)


def test_postgres_is_pointed_to_pg_dump():
    s = Settings.from_env({"ANNOTATE_DATA_DIR": "/tmp/x", "ANNOTATE_DATABASE_URL": "postgresql+psycopg://u@h/db"})
    with pytest.raises(ServiceError, match="pg_dump --format=custom"):
        exchange.backup(s, OWNER, s.data_dir / "bk")


def test_postgres_dump_and_restore_as_documented(settings, session, people, study, tmp_path):
    """The commands of exchange.POSTGRES_HELP, run against the test database."""
    if settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only (ANNOTATE_TEST_POSTGRES_URL)")
    exchange.import_ratings(session, people["res"], study, RATINGS)
    session.commit()
    session.close()
    from sqlalchemy.engine import make_url

    libpq = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    dump = tmp_path / "annotate.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", libpq], check=True)
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM rating"))
    subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={libpq}", str(dump)], check=True)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Rating)).scalar() == 2
        assert conn.execute(select(func.count()).select_from(AuditLog)).scalar() > 0
    engine.dispose()


def test_restore_of_an_older_backup_keeps_every_newer_audit_entry(live, tmp_path, session, people):
    from annotate.services import accounts

    bk = exchange.backup(live, OWNER, tmp_path / "old").directory
    for i in range(3):
        accounts.audit.record(session, people["adm"], "after.backup", n=i, text="CR\rLF\n'\"😀")
    session.commit()
    before = {e.entry_hash: (e.at, e.username, e.action, e.detail) for e in session.scalars(select(AuditLog)).all()}
    session.close()
    exchange.restore(live, OWNER, bk, force=True)
    session.expire_all()
    after = {e.entry_hash: (e.at, e.username, e.action, e.detail) for e in session.scalars(select(AuditLog)).all()}
    assert set(before) <= set(after)  # every entry, with its original time, actor, action and detail
    assert all(after[h] == before[h] for h in before)
    last = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert last.action == "restore" and last.detail["audit_entries_kept"] == 4  # 3 + the "backup" entry
    assert accounts.audit.verify(session).ok
