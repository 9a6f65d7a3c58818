"""Units of work for the UI, web routes and CLI (which may not import the db layer directly)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db import session_scope


@contextmanager
def unit_of_work(settings: Settings) -> Iterator[Session]:
    """A database session that commits on success and rolls back on any error."""
    with session_scope(settings.database_url) as session:
        yield session
