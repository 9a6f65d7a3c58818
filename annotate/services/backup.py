"""Backups of a live SQLite database (the SQLite online backup API) with a checksummed media manifest,
and restore with checksum verification.

A backup folder holds:

``annotate.db``         a consistent copy made with ``sqlite3.Connection.backup`` while the app runs
                        (WAL readers and writers go on; the copy is one point in time), switched to
                        rollback-journal mode so it is a single self-contained file
``media_manifest.csv``  path (relative to the media store), bytes, sha256 of every original and proxy
``backup.json``         when, schema revision, counts, and whether the media files were copied
``media/``              only with ``with_media``: copies of the originals and proxies

PostgreSQL databases are backed up with ``pg_dump`` instead (see :data:`POSTGRES_HELP`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from annotate.config import Settings
from annotate.services import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ServiceError
from annotate.services.session import unit_of_work
from annotate.services.recordings import sha256_file

MEDIA_SUBDIRS = ("originals", "proxies")
DB_NAME = "annotate.db"
MANIFEST = "media_manifest.csv"
META = "backup.json"
POSTGRES_HELP = (
    "This database is PostgreSQL: back it up with pg_dump and restore with pg_restore, e.g.\n"
    "  pg_dump --format=custom --no-owner --file=annotate.dump \"$ANNOTATE_DATABASE_URL\"\n"
    "  pg_restore --clean --if-exists --no-owner --dbname=\"$ANNOTATE_DATABASE_URL\" annotate.dump\n"
    "(with the app stopped for the restore). Copy the media folder ($ANNOTATE_MEDIA_DIR) alongside."
)


@dataclass(frozen=True)
class BackupResult:
    directory: Path
    database_bytes: int
    media_files: int
    media_bytes: int
    media_copied: bool


@dataclass(frozen=True)
class RestoreResult:
    database: Path
    media_checked: int
    media_copied: int
    missing: list[str]  # manifest entries absent from the media store
    mismatched: list[str]  # present, but the sha256 differs

    @property
    def ok(self) -> bool:
        return not self.missing and not self.mismatched


def sqlite_path(url: str) -> Path:
    """The database file of a SQLite URL; ServiceError (with pg_dump advice) for anything else.

    Examples
    --------
    >>> sqlite_path("sqlite:////srv/annotate/annotate.db").as_posix()
    '/srv/annotate/annotate.db'
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ServiceError(POSTGRES_HELP)
    if not parsed.database or parsed.database == ":memory:":
        raise ServiceError("An in-memory database cannot be backed up; set ANNOTATE_DATABASE_URL to a file.")
    return Path(parsed.database)


def media_manifest(media_dir: Path) -> list[tuple[str, int, str]]:
    """(relative path, bytes, sha256) of every original and proxy in the media store, sorted."""
    out = []
    for sub in MEDIA_SUBDIRS:
        folder = media_dir / sub
        if folder.is_dir():
            for f in sorted(folder.rglob("*")):
                if f.is_file() and not f.name.endswith(".part"):
                    out.append((f.relative_to(media_dir).as_posix(), f.stat().st_size, sha256_file(f)))
    return out


def _copy_database(src: Path, dst: Path) -> None:
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(dst)
    try:
        source.backup(target, pages=1024)  # steps let the app's writers in between
        target.execute("PRAGMA journal_mode=DELETE")
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if check != "ok":
        raise ServiceError(f"The copy of the database failed its integrity check ({check}); nothing was kept.")


def backup(settings: Settings, actor: Actor, target: Path, *, with_media: bool = False) -> BackupResult:
    """Write a backup folder (contents in the module docstring) to ``target``, which must be new or empty."""
    require_role(actor, "admin")
    src = sqlite_path(settings.database_url)
    if not src.exists():
        raise ServiceError(f"No database at {src}; nothing to back up (run `annotate init` first?).")
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise ServiceError(f"{target} is not empty; back up into a new folder so no earlier backup is overwritten.")
    target.mkdir(parents=True, exist_ok=True)
    _copy_database(src, target / DB_NAME)  # first: copying needs no write lock, so a busy app never blocks it
    manifest = media_manifest(settings.media_dir)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["path", "bytes", "sha256"])
    w.writerows(manifest)
    (target / MANIFEST).write_text(out.getvalue(), encoding="utf-8")
    if with_media:
        for rel, _size, _sha in manifest:
            dst = target / "media" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(settings.media_dir / rel, dst)
    con = sqlite3.connect(target / DB_NAME)
    try:
        revision = con.execute("SELECT version_num FROM alembic_version").fetchone()
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608 (fixed names)
                  for t in ("study", "recording", "rating", "rating_history", "user_account")}
    finally:
        con.close()
    meta = {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "schema_revision": revision[0] if revision else None,
        "counts": counts, "media_files": len(manifest), "media_bytes": sum(m[1] for m in manifest), "media_copied": with_media,
    }
    (target / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    with unit_of_work(settings) as session:
        audit.record(session, actor, "backup", target=str(target), with_media=with_media, media_files=len(manifest))
    return BackupResult(target, (target / DB_NAME).stat().st_size, len(manifest), meta["media_bytes"], with_media)


def _has_data(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return any(con.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()  # noqa: S608 (names from the schema)
                   for t in ("study", "user_account", "rating") if t in tables)
    finally:
        con.close()


def restore(settings: Settings, actor: Actor, source: Path, *, force: bool = False) -> RestoreResult:
    """Bring a backup folder back into the configured database (and media store, if the backup has media),
    then verify every media checksum. Refuses to overwrite a database with data unless ``force``."""
    require_role(actor, "admin")
    source = Path(source)
    db_copy = source / DB_NAME
    if not db_copy.is_file() or not (source / MANIFEST).is_file():
        raise ServiceError(f"{source} is not an annotate backup folder (it needs {DB_NAME} and {MANIFEST}).")
    dst = sqlite_path(settings.database_url)
    if _has_data(dst) and not force:
        raise ServiceError(f"The database {dst} already holds data; restore into an empty data folder, "
                           "or pass --force to replace it (stop the app first).")
    check = sqlite3.connect(f"file:{db_copy}?mode=ro", uri=True)
    try:
        ok = check.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        check.close()
    if ok != "ok":
        raise ServiceError(f"The backup's database is damaged ({ok}); use another backup.")
    dst.parent.mkdir(parents=True, exist_ok=True)
    source_con, target_con = sqlite3.connect(f"file:{db_copy}?mode=ro", uri=True), sqlite3.connect(dst, timeout=30)
    try:
        source_con.backup(target_con)  # through SQLite, so a WAL file next to dst stays consistent
    finally:
        target_con.close()
        source_con.close()
    rows = list(csv.DictReader(io.StringIO((source / MANIFEST).read_text(encoding="utf-8"))))
    copied = 0
    if (source / "media").is_dir():
        for row in rows:
            src_file, dst_file = source / "media" / row["path"], settings.media_dir / row["path"]
            if src_file.is_file() and (force or not dst_file.exists()):
                dst_file.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src_file, dst_file)
                copied += 1
    missing, mismatched = [], []
    for row in rows:
        f = settings.media_dir / row["path"]
        if not f.is_file():
            missing.append(row["path"])
        elif sha256_file(f) != row["sha256"]:
            mismatched.append(row["path"])
    with unit_of_work(settings) as session:  # also brings an older backup's schema up to date
        audit.record(session, actor, "restore", source=str(source), media_missing=len(missing), media_mismatched=len(mismatched))
    return RestoreResult(dst, len(rows), copied, missing, mismatched)
