"""The acting user handed to every service, and role checks."""

from __future__ import annotations

import sys
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

    @property
    def account_id(self) -> int:
        """The user's id; acts that belong to a person (a rater's media link, a clinician's clip) need one.

        Examples
        --------
        >>> Actor(None, "cli", "command line", "admin").account_id
        Traceback (most recent call last):
        ...
        annotate.services.errors.PermissionDenied: This needs a user account; the command line acts as the machine's owner (name one with --as).
        """
        if self.user_id is None:
            raise PermissionDenied(
                "This needs a user account; the command line acts as the machine's owner (name one with --as)."
            )
        return self.user_id


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
    caller = sys._getframe(1)
    operation = (
        f"{str(caller.f_globals.get('__name__', '')).removeprefix('annotate.services.')}.{caller.f_code.co_name}"
    )
    raise PermissionDenied(
        f"This needs the {needed} role; {actor.username} is a {actor.role}.", actor=actor, operation=operation
    )
