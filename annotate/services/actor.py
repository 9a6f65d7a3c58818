"""The acting user handed to every service, and role checks."""

from __future__ import annotations

from dataclasses import dataclass

from annotate.services.errors import PermissionDenied


@dataclass(frozen=True)
class Actor:
    user_id: int | None  # None: the command line run by the machine owner
    username: str
    display_name: str
    role: str

    @property
    def is_researcher(self) -> bool:
        return self.role in ("researcher", "admin")


def require_role(actor: Actor, *roles: str) -> None:
    """Raise PermissionDenied unless ``actor`` has one of ``roles`` (admin may do everything).

    Examples
    --------
    >>> require_role(Actor(1, "ann", "Ann", "admin"), "researcher")
    >>> require_role(Actor(2, "rob", "Rob", "rater"), "researcher")
    Traceback (most recent call last):
    ...
    annotate.services.errors.PermissionDenied: This needs the researcher role; rob is a rater.
    """
    if actor.role == "admin" or actor.role in roles:
        return
    needed = " or ".join(roles)
    raise PermissionDenied(f"This needs the {needed} role; {actor.username} is a {actor.role}.")
