"""E-signatures in tests: the fixtures' users have the password ``<username>-password``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from annotate.services import accounts
from annotate.services.actor import Actor


def sign(session: Session, actor: Actor, meaning: str = "I approve this irreversible act") -> accounts.Signature:
    return accounts.sign(session, actor, f"{actor.username}-password", meaning)
