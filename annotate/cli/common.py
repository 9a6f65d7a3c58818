"""Helpers shared by the command modules. Nothing heavy is imported here at module level: the
services (SQLAlchemy, pandas, scipy, ...) load inside the commands, so ``annotate --help`` is fast."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from annotate.config import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from annotate.services.actor import Actor


def current_settings() -> Settings:
    return get_settings()


@contextmanager
def unit_of_work(settings: Settings) -> Iterator[Session]:
    """:func:`annotate.services.session.unit_of_work`, imported when a command first needs the database."""
    from annotate.services.session import unit_of_work as service_unit_of_work

    with service_unit_of_work(settings) as session:
        yield session


def acting_user(session: Session | None, username: str | None) -> Actor:
    """The acting user named by --as, or a built-in 'cli' owner with the admin role."""
    from annotate.services import accounts
    from annotate.services.actor import Actor

    if username:
        if session is None:
            raise click.UsageError("--as needs the database; this command cannot act as another user.")
        return accounts.actor_of(accounts.get_user(session, username))
    return Actor(user_id=None, username="cli", display_name="command line", role="admin")


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[float, str], None]]:
    """A progress bar fed with fractions 0..1 (what long services report)."""
    with click.progressbar(length=1000, label=label) as bar:
        shown = 0

        def update(frac: float, _message: str) -> None:
            nonlocal shown
            step = int(frac * 1000) - shown
            if step > 0:
                bar.update(step)
                shown += step

        yield update
