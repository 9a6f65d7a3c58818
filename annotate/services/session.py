"""Units of work for the UI, web routes and CLI (which may not import the db layer directly)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db import session_scope
from annotate.services.errors import PermissionDenied

log = logging.getLogger(__name__)
_refusal_hooks: list[Callable[[Settings, PermissionDenied], None]] = []


def on_refusal(hook: Callable[[Settings, PermissionDenied], None]) -> None:
    """Call ``hook`` after a unit of work was rolled back because of a PermissionDenied (the audit
    trail registers here, so refused attempts are kept although their transaction is not)."""
    if hook not in _refusal_hooks:
        _refusal_hooks.append(hook)


@contextmanager
def unit_of_work(settings: Settings, *, record_refusals: bool = True) -> Iterator[Session]:
    """A database session that commits on success and rolls back on any error."""
    try:
        with session_scope(settings.database_url) as session:
            yield session
    except PermissionDenied as exc:
        if record_refusals:
            for hook in _refusal_hooks:
                try:
                    hook(settings, exc)
                except Exception:  # the refusal itself must still reach the user
                    log.exception("could not record a refused attempt in the audit trail")
        raise
