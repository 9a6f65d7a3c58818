"""The audit trail: one entry per act, append-only and hash-chained.

- :func:`record` adds an entry to the caller's transaction. Each entry stores ``entry_hash`` =
  sha256 over its content and the previous entry's hash (:func:`annotate.db.models.audit_entry_hash`);
  appends are serialised (a PostgreSQL advisory lock, SQLite's write lock taken first) so two
  sessions at once never fork the chain.
- The database itself refuses UPDATE and DELETE of entries (triggers of migration 0005).
- :func:`verify` walks the chain and names the first broken entry; :func:`export_csv` writes it out.
- Refused attempts: a :class:`PermissionDenied` that leaves a unit of work is recorded, after the
  rollback, in a transaction of its own (:func:`record_refusal`, hooked into
  :func:`annotate.services.session.unit_of_work`), so the refusal's rollback does not drop it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import AuditLog, audit_canonical_detail, audit_entry_hash, utcnow
from annotate.reports.csvio import csv_writer
from annotate.services import session as units
from annotate.services.actor import Actor
from annotate.services.errors import PermissionDenied

# pg_advisory_xact_lock key of the audit chain ("audit" in ASCII).
_PG_LOCK_KEY = 0x6175646974


def _lock_chain(session: Session) -> None:
    """Serialise appends until this transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        # Bounded wait: a transaction that holds the chain and never ends gives an error, not a hang.
        session.execute(text("SET LOCAL lock_timeout = '30s'"))
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    else:
        # pysqlite starts a transaction only at the first write: a no-op write takes SQLite's write
        # lock now, so the tail read next is the newest and no other writer can append in between.
        session.execute(text("UPDATE alembic_version SET version_num = version_num"))


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    *,
    study_id: int | None = None,
    **detail: Any,
) -> AuditLog:
    """Add one audit entry (chained to the last one) to the current transaction."""
    clean: dict[str, Any] = json.loads(audit_canonical_detail(detail))  # what JSON gives back, hashed as stored
    _lock_chain(session)
    prev = session.scalar(select(AuditLog.entry_hash).order_by(AuditLog.id.desc()).limit(1)) or ""
    content: dict[str, Any] = {
        "at": utcnow(),
        "user_id": actor.user_id if actor else None,
        "username": actor.username if actor else None,
        "action": action,
        "study_id": study_id,
        "detail": clean,
        "prev_hash": prev,
    }
    # The hash covers exactly the fields stored: one dict for both, so they cannot drift apart.
    entry = AuditLog(**content, entry_hash=audit_entry_hash(**content))
    session.add(entry)
    session.flush()
    return entry


def _operation_of(exc: PermissionDenied) -> tuple[str, Actor | None]:
    """The refused service operation ("studies.gate.set_status") and its actor, from the exception
    or, when the raise site did not name them, from the innermost service frame of the traceback."""
    operation, actor = exc.operation, exc.actor if isinstance(exc.actor, Actor) else None
    tb: types.TracebackType | None = exc.__traceback__
    found_op, found_actor = None, None
    while tb is not None:
        frame = tb.tb_frame
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith("annotate.services.") and not module.startswith(
            ("annotate.services.actor", "annotate.services.session")
        ):
            found_op = f"{module.removeprefix('annotate.services.')}.{frame.f_code.co_name}"
            candidate = frame.f_locals.get("actor")
            if isinstance(candidate, Actor):
                found_actor = candidate
        tb = tb.tb_next
    return operation or found_op or "unknown", actor or found_actor


def record_refusal(settings: Settings, exc: PermissionDenied) -> None:
    """Record a refused attempt in its own transaction (called after the refused one rolled back)."""
    operation, actor = _operation_of(exc)
    with units.unit_of_work(settings, record_refusals=False) as session:
        record(session, actor, "refused", operation=operation, message=str(exc)[:500])


units.on_refusal(record_refusal)


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    ok: bool
    first_broken_id: int | None
    problem: str

    @property
    def message(self) -> str:
        if self.ok:
            return f"The audit trail is whole: {self.entries} entries, every hash matches its content and chain."
        return f"The audit trail is broken at entry {self.first_broken_id}: {self.problem}"


def _iter_entries(session: Session) -> Iterator[AuditLog]:
    yield from session.scalars(select(AuditLog).order_by(AuditLog.id).execution_options(yield_per=1000))


def verify(session: Session) -> ChainCheck:
    """Check every entry's hash and its link to the previous entry, in id order."""
    prev, count = "", 0
    for entry in _iter_entries(session):
        count += 1
        if entry.prev_hash != prev:
            return ChainCheck(
                count, False, entry.id, "its link to the previous entry does not match (removed or reordered)"
            )
        expected = audit_entry_hash(
            at=entry.at,
            user_id=entry.user_id,
            username=entry.username,
            action=entry.action,
            study_id=entry.study_id,
            detail=entry.detail,
            prev_hash=entry.prev_hash,
        )
        if expected != entry.entry_hash:
            return ChainCheck(count, False, entry.id, "its content no longer matches its hash (changed)")
        prev = entry.entry_hash
    return ChainCheck(count, True, None, "")


EXPORT_COLUMNS = ("id", "at", "user_id", "username", "action", "study_id", "detail", "prev_hash", "entry_hash")


def _iso(at: dt.datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat(timespec="microseconds")


def export_csv(session: Session, actor: Actor) -> str:
    """The whole audit trail as CSV (admins), with the hashes so a copy can be checked later."""
    from annotate.services.actor import require_role

    require_role(actor, "admin")
    out = io.StringIO()
    w = csv_writer(out)  # RFC 4180; cells verbatim (not neutralised) so the copy's hashes can be checked
    w.writerow(EXPORT_COLUMNS)
    n = 0
    for e in _iter_entries(session):
        n += 1
        w.writerow(
            [
                e.id,
                _iso(e.at),
                "" if e.user_id is None else e.user_id,
                e.username or "",
                e.action,
                "" if e.study_id is None else e.study_id,
                audit_canonical_detail(e.detail),
                e.prev_hash,
                e.entry_hash,
            ]
        )
    record(session, actor, "audit.export", entries=n)
    return out.getvalue()


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: dt.datetime
    username: str
    action: str
    study_id: int | None
    detail: str


def recent(session: Session, actor: Actor, *, limit: int = 500, action: str | None = None) -> list[AuditRow]:
    """The newest entries first (the admin's Audit page)."""
    from annotate.services.actor import require_role

    require_role(actor, "admin")
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action:
        query = query.where(AuditLog.action.startswith(action))
    return [
        AuditRow(e.id, e.at, e.username or "", e.action, e.study_id, audit_canonical_detail(e.detail))
        for e in session.scalars(query)
    ]


def entries_after(session: Session, last_id: int) -> list[AuditLog]:
    """Entries with an id above ``last_id`` (what a restore of an older backup must keep)."""
    return list(session.scalars(select(AuditLog).where(AuditLog.id > last_id).order_by(AuditLog.id)))


@dataclass(frozen=True)
class AuditEntry:
    """An entry as stored (what a restore carries over from the database it replaces)."""

    id: int
    at: dt.datetime
    user_id: int | None
    username: str | None
    action: str
    study_id: int | None
    detail: dict[str, Any]
    prev_hash: str
    entry_hash: str


def snapshot(session: Session) -> list[AuditEntry]:
    """Every entry, in id order."""
    return [
        AuditEntry(
            e.id, e.at, e.user_id, e.username, e.action, e.study_id, dict(e.detail or {}), e.prev_hash, e.entry_hash
        )
        for e in _iter_entries(session)
    ]


def keep_entries(session: Session, entries: list[AuditEntry]) -> int:
    """Append the ``entries`` this database lacks (compared by hash), with their original content
    and hashes: a restore of an older backup never rewinds the audit trail. An entry keeps its id
    when that id comes after the last one here, else it gets the next id. Returns how many were added."""
    _lock_chain(session)
    present = set(session.scalars(select(AuditLog.entry_hash)))
    last_id = session.scalar(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(1)) or 0
    added = 0
    for e in sorted(entries, key=lambda x: x.id):
        if e.entry_hash and e.entry_hash in present:
            continue
        new_id = e.id if e.id > last_id else last_id + 1
        session.add(
            AuditLog(
                id=new_id,
                at=e.at,
                user_id=e.user_id,
                username=e.username,
                action=e.action,
                study_id=e.study_id,
                detail=e.detail,
                prev_hash=e.prev_hash,
                entry_hash=e.entry_hash,
            )
        )
        last_id, added = new_id, added + 1
    session.flush()
    return added
