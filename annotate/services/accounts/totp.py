"""A second factor for logins: time-based one-time codes (TOTP, RFC 6238) and recovery codes.

Enrolment is two steps so a mistyped secret never locks anyone out: :func:`new_enrolment` draws
a secret (kept by the page, not stored) with its ``otpauth://`` URI and a QR code drawn offline
(segno, SVG); :func:`confirm_enrolment` stores it only when a code from the app matches, and
returns ten recovery codes shown once (only their sha256 hashes are kept: each is 50 random bits,
so a slow hash would add nothing). :func:`check_second_factor` accepts the code of the current
30 s step or one step either side (clock drift), never a step at or before the last accepted
one (a replayed code is refused), or an unused recovery code, which is then spent.

A site can require the factor for some roles (``ANNOTATE_TOTP_REQUIRED_ROLES=researcher,admin``):
such an account that has not enrolled sees only My account until it has
(:func:`must_enrol`). An admin can remove a lost factor (``annotate users totp-reset USER``).
Every enrolment, removal, recovery-code use and refused code is audited.

We use pyotp for the RFC 6238 arithmetic; the replay rule and recovery codes are ours (pyotp
has neither).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import User
from annotate.services.accounts import audit, passwords
from annotate.services.actor import Actor, require_role
from annotate.services.errors import PermissionDenied, ServiceError

ISSUER = "annotate"
STEP_SECONDS = 30
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper


@dataclass(frozen=True)
class Enrolment:
    """A secret being set up: shown as a QR code and as text, stored once confirmed."""

    secret: str
    uri: str
    qr_svg: str


def new_enrolment(actor: Actor) -> Enrolment:
    """A fresh secret for ``actor`` with its ``otpauth://`` URI and the QR code of it (SVG text)."""
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=actor.username, issuer_name=ISSUER)
    buf = io.BytesIO()
    segno.make(uri, error="m").save(buf, kind="svg", scale=5, border=2, xmldecl=False)
    return Enrolment(secret=secret, uri=uri, qr_svg=buf.getvalue().decode("utf-8"))


def _step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def _matching_step(secret: str, code: str, last_step: int | None, now: float | None = None) -> int | None:
    """The time step (now, or one either side) whose code is ``code`` and is newer than ``last_step``."""
    totp = pyotp.TOTP(secret)
    current = _step(now)
    for step in (current, current - 1, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _hash(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


def _recovery_codes() -> list[str]:
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def confirm_enrolment(session: Session, actor: Actor, secret: str, code: str, *, now: float | None = None) -> list[str]:
    """Turn the factor on with ``secret`` when ``code`` is its current code; returns the recovery codes."""
    user = session.get_one(User, actor.user_id)
    if user.totp_secret:
        raise ServiceError("A second factor is already set up; turn it off first to set up another.")
    step = _matching_step(secret, _clean(code), None, now)
    if step is None:
        raise ServiceError(
            "That code does not match: type the 6 digits your app shows now (check the phone's clock is right)."
        )
    codes = _recovery_codes()
    user.totp_secret, user.totp_last_step, user.totp_recovery = secret, step, [_hash(c) for c in codes]
    audit.record(session, actor, "totp.enabled", username=user.username)
    return codes


def disable(session: Session, actor: Actor, password: str) -> None:
    """Turn the own second factor off (the password again, as for any e-signed change)."""
    user = session.get_one(User, actor.user_id)
    if not passwords.verify_password(user.password_hash, password):
        raise PermissionDenied("Wrong password: the second factor stays on.")  # audited as refused
    _clear(user)
    audit.record(session, actor, "totp.disabled", username=user.username)


def admin_reset(session: Session, actor: Actor | None, username: str) -> None:
    """An admin (or, ``actor`` None, the machine's owner on the command line) removes a user's
    second factor (a lost phone); the user sets it up again, and its sessions end."""
    if actor is not None:
        require_role(actor, "admin")
    from annotate.services.accounts.users import get_user

    user = get_user(session, username)
    if not user.totp_secret:
        raise ServiceError(f"{user.username} has no second factor set up.")
    _clear(user)
    from annotate.services.accounts.sessions import end_sessions

    ended = end_sessions(session, user.id)
    audit.record(session, actor, "totp.reset", username=user.username, sessions_ended=ended)


def _clear(user: User) -> None:
    user.totp_secret = user.totp_last_step = user.totp_recovery = None


def check_second_factor(session: Session, user: User, code: str, *, now: float | None = None) -> bool:
    """True when ``code`` is the user's next TOTP code or an unused recovery code (spent now)."""
    cleaned = _clean(code)
    if not user.totp_secret or not cleaned:
        return False
    if cleaned.isdigit():
        step = _matching_step(user.totp_secret, cleaned, user.totp_last_step, now)
        if step is None:
            return False
        user.totp_last_step = step
        return True
    hashed = _hash(cleaned)
    left = list(user.totp_recovery or [])
    if hashed not in left:
        return False
    left.remove(hashed)
    user.totp_recovery = left
    audit.record(session, None, "totp.recovery_used", username=user.username, left=len(left))
    return True


def must_enrol(user: User, settings: Settings) -> bool:
    """The site requires a second factor for this account's role and it has none yet."""
    return user.role in settings.totp_required_roles and not user.totp_secret


def has_second_factor(session: Session, actor: Actor) -> bool:
    """Whether the acting account has a second factor set up."""
    return bool(session.get_one(User, actor.user_id).totp_secret)


def recovery_codes_left(session: Session, actor: Actor) -> int:
    """How many of the acting account's recovery codes are unused."""
    return len(session.get_one(User, actor.user_id).totp_recovery or [])
