"""What a study's data looks like now, in a few index-served statements, and a cache keyed by it.

The reliability report and the outcome table read every done rating of a study: at a million
ratings that is seconds of work, repeated on every rerun of the page although nothing changed.
``data_revision`` is a small tuple that changes whenever anything those results read changes:

- any rating written or changed (every writer sets ``rating.updated_at``; new rows raise the id),
  any note (its history row),
- assignments added, the study's last segment finished, consensus tasks added or resolved,
- participants, films and segments added, a film finishing its processing, and any audited
  action (participant imports, settings, status moves, user changes are all audited),
- the study row itself (status and settings).

``cached`` keeps the last results per (database, what, arguments, revision) in this process.
Cached results are shared between callers: they are frozen dataclasses and must not be changed.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from annotate.db.models import (
    Assignment,
    AuditLog,
    ConsensusTask,
    Participant,
    Rating,
    RatingHistory,
    Recording,
    Segment,
    Study,
)

T = TypeVar("T")
MAX_ENTRIES = 32
_lock = threading.Lock()
_entries: OrderedDict[Hashable, Any] = OrderedDict()


def _latest(column: Any, *where: Any) -> Any:
    return select(func.max(column)).where(*where).scalar_subquery()


# Audit entries that record a look, not a change: a cached result read (and audited as a view of the
# allocation), a login or an export must not make the next read miss the cache.
_READS_ONLY = ("allocation.view%", "login%", "logout", "export%", "refused%", "audit.export", "codebook")
_CHANGES_DATA = ~or_(*(AuditLog.action.like(pattern) for pattern in _READS_ONLY))


def data_revision(session: Session, study: Study) -> tuple:
    """A fingerprint of everything a study's pages read: one statement of index-served maxima.

    Each part is ``max()`` of an indexed column (a B-tree end, not a scan), so it costs the same
    at a thousand ratings as at a million. Rows are only ever added or changed forwards (ids and
    change times grow; a done assignment is never reopened; deletions go through audited imports).
    """
    parts = session.execute(
        select(
            _latest(Rating.id),
            _latest(Rating.updated_at),
            _latest(RatingHistory.id),  # notes (a note alone moves an item to in progress)
            _latest(Assignment.id),
            _latest(Assignment.done_at, Assignment.study_id == study.id, Assignment.status == "done"),
            _latest(ConsensusTask.id),
            _latest(ConsensusTask.resolved_at, ConsensusTask.study_id == study.id),
            _latest(AuditLog.id, _CHANGES_DATA),  # imports, settings, status moves, users
            _latest(Participant.id),
            _latest(Recording.id),
            _latest(Segment.id),
            select(func.count(Recording.id))
            .where(Recording.study_id == study.id, Recording.status != "ready")
            .scalar_subquery(),  # a film finishing its processing
        )
    ).one()
    # The study's creation time tells apart databases whose ids happen to match (a restored
    # backup, a test database made afresh).
    settings = json.dumps(study.settings or {}, sort_keys=True, default=str)
    return (study.id, str(study.created_at), study.status, settings, *map(str, parts))


def cached(session: Session, study: Study, what: str, args: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or its earlier result when the study's data has not changed since."""
    key = (str(session.get_bind().engine.url), what, args, data_revision(session, study))
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]
    value = compute()
    with _lock:
        _entries[key] = value
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    """Forget every cached result (tests)."""
    with _lock:
        _entries.clear()
