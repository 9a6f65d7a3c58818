"""Backups of a live SQLite database (the SQLite online backup API) with a checksummed media manifest,
and restore with checksum verification.

A backup (a folder, or a prefix of a bucket: :mod:`annotate.store.backup_place`) holds:

``annotate.db``         a consistent copy made with ``sqlite3.Connection.backup`` while the app runs
                        (WAL readers and writers go on; the copy is one point in time), switched to
                        rollback-journal mode so it is a single self-contained file
``media_manifest.csv``  path (the media-store key), bytes, sha256 of every original, proxy and thumbnail
``backup.json``         when, schema revision, counts, and whether the media files were copied
``media/``              only with ``with_media``: copies of those files, by key

The media store may be a folder or S3 (:mod:`annotate.store`); the database names media by key,
so a restore into another folder or bucket leaves every film playable.

PostgreSQL databases are backed up with ``pg_dump`` instead (see :data:`POSTGRES_HELP`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from annotate.config import Settings
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ServiceError
from annotate.services.session import unit_of_work
from annotate.store import LocalStore, MediaStore, open_store
from annotate.store.backup_place import BackupPlace, FolderPlace, open_backup_place

MEDIA_SUBDIRS = ("originals", "proxies", "thumbs")  # thumbs: the clinician's filmstrip of each film
DB_NAME = "annotate.db"
MANIFEST = "media_manifest.csv"
META = "backup.json"
POSTGRES_HELP = (
    "This database is PostgreSQL: back it up with pg_dump and restore with pg_restore, e.g.\n"
    '  pg_dump --format=custom --no-owner --file=annotate.dump "$ANNOTATE_DATABASE_URL"\n'
    '  pg_restore --clean --if-exists --no-owner --dbname="$ANNOTATE_DATABASE_URL" annotate.dump\n'
    "(with the app stopped for the restore). Copy the media folder ($ANNOTATE_MEDIA_DIR) alongside."
)


@dataclass(frozen=True)
class BackupResult:
    directory: Path | str  # a folder, or the s3:// URL of a backup in a bucket
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


def media_manifest(store: MediaStore | Path) -> list[tuple[str, int, str]]:
    """(key, bytes, sha256) of every original, proxy and thumbnail in the media store, sorted."""
    if isinstance(store, Path):
        store = LocalStore(store)
    out = []
    for sub in MEDIA_SUBDIRS:
        for key in store.list_keys(sub + "/"):
            name = key.rsplit("/", 1)[-1]
            if name.endswith((".part", ".partial")) or name.startswith("."):
                continue
            out.append((key, store.size(key) or 0, store.sha256(key)))
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


def backup(
    settings: Settings, actor: Actor, target: Path | str, *, with_media: bool = False, marker: str | None = None
) -> BackupResult:
    """Write a backup (contents in the module docstring) to ``target``: a folder, or a prefix of a
    bucket (``s3://bucket/backups/NAME``, endpoint and credentials as for the media store). The
    target must be new or empty."""
    require_role(actor, "admin")
    src = sqlite_path(settings.database_url)
    if not src.exists():
        raise ServiceError(f"No database at {src}; nothing to back up (run `annotate init` first?).")
    place = open_backup_place(target, settings.s3_endpoint)
    if not place.is_empty():
        raise ServiceError(f"{place.url} is not empty; back up into a new place so no earlier backup is overwritten.")
    if marker is not None:
        place.put_bytes(".job", marker.encode())
    with _staging(place) as staging:
        db_copy = staging / DB_NAME
        _copy_database(src, db_copy)  # first: copying needs no write lock, so a busy app never blocks it
        store = open_store(settings)
        manifest = media_manifest(store)
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")  # RFC 4180: a CR inside a field is quoted too
        w.writerow(["path", "bytes", "sha256"])
        w.writerows(manifest)
        if with_media:
            for rel, _size, _sha in manifest:
                with store.readable(rel, staging / ".scratch") as local:
                    place.media.put_file(local, rel)
        meta = _describe(db_copy, manifest, with_media)
        database_bytes = db_copy.stat().st_size
        place.put_file(db_copy, DB_NAME)
        place.put_bytes(MANIFEST, out.getvalue().encode("utf-8"))
        place.put_bytes(META, (json.dumps(meta, indent=2) + "\n").encode("utf-8"))  # last: the backup is whole
    with unit_of_work(settings) as session:
        audit.record(session, actor, "backup", target=place.url, with_media=with_media, media_files=len(manifest))
    directory = Path(target) if isinstance(place, FolderPlace) else place.url
    return BackupResult(directory, database_bytes, len(manifest), sum(m[1] for m in manifest), with_media)


@contextmanager
def _staging(place: BackupPlace) -> Iterator[Path]:
    """Where the database copy is made: the backup folder itself, or a temporary folder that is
    removed afterwards when the backup goes to a bucket (nothing stays on local disk)."""
    if isinstance(place, FolderPlace):
        place.folder.mkdir(parents=True, exist_ok=True)
        try:
            yield place.folder
        finally:
            shutil.rmtree(place.folder / ".scratch", ignore_errors=True)
        return
    with tempfile.TemporaryDirectory(prefix="annotate-backup-") as tmp:
        yield Path(tmp)


def _describe(db_copy: Path, manifest: list[tuple[str, int, str]], with_media: bool) -> dict[str, object]:
    con = sqlite3.connect(db_copy)
    try:
        revision = con.execute("SELECT version_num FROM alembic_version").fetchone()
        counts = {
            t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
            for t in ("study", "recording", "rating", "rating_history", "user_account")
        }
    finally:
        con.close()
    return {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "schema_revision": revision[0] if revision else None,
        "counts": counts,
        "media_files": len(manifest),
        "media_bytes": sum(m[1] for m in manifest),
        "media_copied": with_media,
    }


def _has_data(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return any(
            con.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()
            for t in ("study", "user_account", "rating")
            if t in tables
        )
    finally:
        con.close()


def _audit_of(settings: Settings) -> list[audit.AuditEntry]:
    """The audit trail of the database about to be replaced (it is carried into the restored one)."""
    with unit_of_work(settings) as session:
        return audit.snapshot(session)


def restore(settings: Settings, actor: Actor, source: Path | str, *, force: bool = False) -> RestoreResult:
    """Bring a backup (a folder or ``s3://bucket/prefix``) back into the configured database (and
    media store, if the backup has media), then verify every media checksum. Refuses to overwrite a
    database with data unless ``force``.

    The audit trail is never rewound: entries of the replaced database that the backup lacks are
    appended to the restored one with their original time, actor, action, detail and hashes."""
    require_role(actor, "admin")
    place = open_backup_place(source, settings.s3_endpoint)
    if not place.exists(DB_NAME) or not place.exists(MANIFEST):
        raise ServiceError(f"{place.url} is not an annotate backup (it needs {DB_NAME} and {MANIFEST}).")
    dst = sqlite_path(settings.database_url)
    if _has_data(dst) and not force:
        raise ServiceError(
            f"The database {dst} already holds data; restore into an empty data folder, "
            "or pass --force to replace it (stop the app first)."
        )
    with tempfile.TemporaryDirectory(prefix="annotate-restore-") as tmp:
        if isinstance(place, FolderPlace):
            db_copy = place.folder / DB_NAME
        else:
            db_copy = Path(tmp) / DB_NAME
            place.get_file(DB_NAME, db_copy)
        check = sqlite3.connect(f"file:{db_copy}?mode=ro", uri=True)
        try:
            ok = check.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            check.close()
        if ok != "ok":
            raise ServiceError(f"The backup's database is damaged ({ok}); use another backup.")
        dst.parent.mkdir(parents=True, exist_ok=True)
        kept_audit = _audit_of(settings) if dst.exists() and dst.stat().st_size else []
        source_con, target_con = sqlite3.connect(f"file:{db_copy}?mode=ro", uri=True), sqlite3.connect(dst, timeout=30)
        try:
            source_con.backup(target_con)  # through SQLite, so a WAL file next to dst stays consistent
        finally:
            target_con.close()
            source_con.close()
        rows = list(csv.DictReader(io.StringIO(place.get_bytes(MANIFEST).decode("utf-8"))))
        copied = 0
        store = open_store(settings)
        for row in rows:
            if place.media.exists(row["path"]) and (force or not store.exists(row["path"])):
                with place.media.readable(row["path"], Path(tmp) / "media") as local:
                    store.put_file(local, row["path"])
                copied += 1
    missing, mismatched = [], []
    for row in rows:
        if not store.exists(row["path"]):
            missing.append(row["path"])
        elif store.sha256(row["path"]) != row["sha256"]:
            mismatched.append(row["path"])
    with unit_of_work(settings) as session:  # also brings an older backup's schema up to date
        carried = audit.keep_entries(session, kept_audit)
        audit.record(
            session,
            actor,
            "restore",
            source=place.url,
            media_missing=len(missing),
            media_mismatched=len(mismatched),
            audit_entries_kept=carried,
        )
    return RestoreResult(dst, len(rows), copied, missing, mismatched)
