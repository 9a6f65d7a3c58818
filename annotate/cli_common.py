"""Helpers shared by the `annotate` command modules."""

from __future__ import annotations

from annotate.config import Settings, get_settings
from annotate.services import users
from annotate.services.actor import Actor


def current_settings() -> Settings:
    return get_settings()


def acting_user(session, username: str | None) -> Actor:  # noqa: ANN001
    """The acting user named by --as, or a built-in 'cli' owner with the admin role."""
    if username:
        return users.actor_of(users.get_user(session, username))
    return Actor(user_id=None, username="cli", display_name="command line", role="admin")
