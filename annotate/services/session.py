"""Units of work for the UI, web routes and CLI (which may not import the db layer directly)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db import session_scope
from annotate.services.errors import DatabaseUnavailable, PermissionDenied

log = logging.getLogger(__name__)
_refusal_hooks: list[Callable[[Settings, PermissionDenied], None]] = []


def on_refusal(hook: Callable[[Settings, PermissionDenied], None]) -> None:
    """Call ``hook`` after a unit of work was rolled back because of a PermissionDenied (the audit
    trail registers here, so refused attempts are kept although their transaction is not)."""
    if hook not in _refusal_hooks:
        _refusal_hooks.append(hook)


# SQLite reports a missing table as an OperationalError too: only these mean "not reachable now".
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error", "database is busy")


def _unavailable(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if type(orig).__name__ != "OperationalError":
        return False
    if type(orig).__module__.startswith("sqlite3"):
        return any(text in str(orig).lower() for text in _SQLITE_UNAVAILABLE)
    return True  # psycopg: the server is down, refused the connection, or dropped it


@contextmanager
def unit_of_work(settings: Settings, *, record_refusals: bool = True) -> Iterator[Session]:
    """A database session that commits on success and rolls back on any error.

    A connection that fails or a database that stays locked (``DBAPIError`` marked as an
    ``OperationalError``, or one that invalidated the connection) becomes
    :class:`DatabaseUnavailable`, so pages and commands say so instead of showing a traceback;
    the operator's log keeps the driver's message. Other database errors (a constraint, a bug)
    propagate unchanged.
    """
    try:
        with session_scope(settings.database_url) as session:
            yield session
    except DBAPIError as exc:
        if not _unavailable(exc):
            raise
        log.error("database unavailable: %s", str(exc.orig)[:500])
        raise DatabaseUnavailable(
            "The database did not answer (it may be restarting, unreachable or busy). Nothing of this "
            "step was saved: try again in a moment; if it keeps happening, tell the administrator."
        ) from exc
    except PermissionDenied as exc:
        if record_refusals:
            for hook in _refusal_hooks:
                try:
                    hook(settings, exc)
                except Exception:  # the refusal itself must still reach the user
                    log.exception("could not record a refused attempt in the audit trail")
        raise
