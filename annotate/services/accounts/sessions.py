"""Login sessions: password check with throttling and lockout, idle and absolute timeouts, logout.

Throttling (the response never tells a known name from an unknown one):

- per account (in the database, so every process and a restart see it): each failed attempt adds
  one to ``failed_attempts`` and the answer waits a growing delay (:func:`delay_after`); at
  ``lockout_attempts`` failures in a row the account locks for ``lockout_minutes`` (audited as
  ``login.locked``); an admin unlocks it sooner (``annotate users unlock``);
- per unknown name: the same counts in memory (``limits``, a moving window), keyed by a salted
  hash of the typed text, so unknown names are answered exactly like known ones and the text
  itself is kept nowhere;
- per client address: at most :data:`CLIENT_FAILURES` failed attempts per window from one address,
  whatever the names.

Failed logins are audited with the username only when it names an account, never the raw text
(a password typed into the name field must not be kept).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from annotate.config import Settings, get_settings
from annotate.db.models import LoginSession, User, utcnow
from annotate.services.accounts import audit, passwords, totp
from annotate.services.actor import Actor
from annotate.services.errors import NotFound, PermissionDenied

CLIENT_FAILURES = 30  # failed attempts per lockout window from one client address
WRONG = "Wrong username or password."
NEED_CODE = (
    "This account also asks for an authentication code: type the 6 digits your app shows "
    "(or one of your recovery codes) with your password."
)
WRONG_CODE = "Wrong authentication code: type the 6 digits your app shows now, or a recovery code."
# Last-seen times are written at most this often (a Streamlit page reruns on every click).
_TOUCH_EVERY = dt.timedelta(seconds=30)

_SALT = secrets.token_bytes(16)
_limiter = MovingWindowRateLimiter(MemoryStorage())


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; they were written as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.username, user.display_name, user.role)


def actor_by_id(session: Session, user_id: int | None, missing: str) -> Actor:
    """The actor of account ``user_id`` (e.g. the one that queued a job); NotFound(``missing``) if gone."""
    user = session.get(User, user_id) if user_id else None
    if user is None:
        raise NotFound(missing)
    return actor_of(user)


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def delay_after(failures: int) -> float:
    """Seconds the answer to the ``failures``-th failed attempt in a row waits (doubling, at most 8).

    Examples
    --------
    >>> [delay_after(n) for n in range(1, 7)]
    [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    """
    return min(0.5 * 2 ** (max(failures, 1) - 1), 8.0)


class LoginRefused(PermissionDenied):
    """A refused login; ``delay`` is how long the answer should wait, ``locked`` whether the name
    (or the client) is now locked out. The message is the same for known and unknown names."""

    def __init__(self, message: str, *, delay: float = 0.0, locked: bool = False) -> None:
        super().__init__(message, operation="accounts.login")
        self.delay = delay
        self.locked = locked


def locked_message(minutes: float) -> str:
    return (
        f"Too many failed attempts: logging in with this name is paused for {minutes:g} minutes. "
        "An admin can unlock the account sooner."
    )


def _window(settings: Settings, limit: int) -> RateLimitItemPerMinute:
    return RateLimitItemPerMinute(limit, max(1, round(settings.lockout_minutes)))


def _name_key(username: str) -> str:
    return hashlib.sha256(_SALT + username.encode("utf-8", "replace")).hexdigest()


def reset_memory() -> None:
    """Forget the in-memory counts (tests; a restart does the same)."""
    _limiter.storage.reset()


@dataclass(frozen=True)
class LiveLogin:
    """A live login session: who, and what the pages must do first."""

    actor: Actor
    must_change_password: bool
    is_demo: bool
    session_id: str
    must_enrol_totp: bool = False  # the site requires a second factor for this role: My account only

    @property
    def may_act(self) -> bool:
        """Nothing but My account until a one-time password is changed or a required factor set up."""
        return not (self.must_change_password or self.must_enrol_totp)


def login(
    session: Session,
    username: str,
    password: str,
    hours: float | None = None,
    *,
    client: str = "",
    settings: Settings | None = None,
    code: str = "",
) -> tuple[str, Actor]:
    """Check a password (and, for an account with a second factor, its ``code``) and open a login
    session; returns (token for the cookie, actor).

    Raises :class:`LoginRefused` (commit the session anyway: the failure counts must stay). A wrong
    code counts as a failed attempt like a wrong password; a missing one does not (the password was
    right) and only asks for it."""
    settings = settings or get_settings()
    hours = settings.session_hours if hours is None else hours
    now = utcnow()
    name = username.strip().lower()[:200]
    client_window = _window(settings, CLIENT_FAILURES)
    client_key = f"client:{client}"
    if client and not _limiter.test(client_window, client_key):
        audit.record(session, None, "login.refused", reason="client_limit", client=client)
        raise LoginRefused(
            f"Too many failed attempts from this computer: wait {settings.lockout_minutes:g} minutes.",
            delay=delay_after(settings.lockout_attempts),
            locked=True,
        )
    user = session.scalar(select(User).where(User.username == name)) if name else None
    if user is None:
        return _unknown_name(session, settings, name, password, client)
    if user.locked_until is not None and as_utc(user.locked_until) > now:
        passwords.burn_time(password)
        audit.record(session, None, "login.failed", username=user.username, reason="locked", client=client)
        raise LoginRefused(locked_message(settings.lockout_minutes), delay=0.0, locked=True)
    ok = passwords.verify_password(user.password_hash, password)
    second_factor_missing = ok and user.active and bool(user.totp_secret) and not code.strip()
    if second_factor_missing:
        audit.record(session, None, "login.code_asked", username=user.username, client=client)
        raise LoginRefused(NEED_CODE, delay=0.0)
    code_ok = not (ok and user.active and user.totp_secret) or totp.check_second_factor(session, user, code)
    if not ok or not user.active or not code_ok:
        _limiter.hit(client_window, client_key)
        user.failed_attempts = (user.failed_attempts or 0) + 1
        reason = "wrong_password" if not ok else ("deactivated" if not user.active else "wrong_code")
        audit.record(session, None, "login.failed", username=user.username, reason=reason, client=client)
        if user.failed_attempts >= settings.lockout_attempts:
            user.locked_until = now + dt.timedelta(minutes=settings.lockout_minutes)
            audit.record(
                session,
                None,
                "login.locked",
                username=user.username,
                failed_attempts=user.failed_attempts,
                minutes=settings.lockout_minutes,
                client=client,
            )
            raise LoginRefused(
                locked_message(settings.lockout_minutes), delay=delay_after(user.failed_attempts), locked=True
            )
        raise LoginRefused(WRONG_CODE if reason == "wrong_code" else WRONG, delay=delay_after(user.failed_attempts))
    user.failed_attempts = 0
    user.locked_until = None
    user.last_login_at = now
    if passwords.HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            id=token_id(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    actor = actor_of(user)
    audit.record(session, actor, "login", client=client, must_change_password=user.must_change_password)
    return token, actor


def _unknown_name(session: Session, settings: Settings, name: str, password: str, client: str) -> tuple[str, Actor]:
    passwords.burn_time(password)  # the same time as a real check
    name_window = _window(settings, settings.lockout_attempts)
    key = f"name:{_name_key(name)}"
    if not _limiter.test(name_window, key):
        audit.record(session, None, "login.failed", reason="locked", known=False, client=client)
        raise LoginRefused(locked_message(settings.lockout_minutes), delay=0.0, locked=True)
    _limiter.hit(name_window, key)
    _limiter.hit(_window(settings, CLIENT_FAILURES), f"client:{client}")
    failures = settings.lockout_attempts - _limiter.get_window_stats(name_window, key).remaining
    audit.record(session, None, "login.failed", reason="unknown_name", known=False, client=client)
    if failures >= settings.lockout_attempts:
        audit.record(session, None, "login.locked", known=False, failed_attempts=failures, client=client)
        raise LoginRefused(locked_message(settings.lockout_minutes), delay=delay_after(failures), locked=True)
    raise LoginRefused(WRONG, delay=delay_after(failures))


def resolve_login(session: Session, token: str | None, settings: Settings | None = None) -> LiveLogin | None:
    """The live login of ``token``, or None when unknown, revoked, idle too long, past its absolute
    lifetime, or its account is deactivated. Notes the request for the idle timeout."""
    if not token:
        return None
    row = session.get(LoginSession, token_id(token))
    if row is None or row.revoked or not row.user.active:
        return None
    settings = settings or get_settings()
    now = utcnow()
    if as_utc(row.expires_at) <= now:
        return None
    seen = as_utc(row.last_seen_at or row.created_at)
    if seen + dt.timedelta(minutes=settings.session_idle_minutes) <= now:
        return None
    if now - seen >= _TOUCH_EVERY:
        row.last_seen_at = now
    user = row.user
    return LiveLogin(
        actor_of(user),
        bool(user.must_change_password),
        bool(user.is_demo),
        row.id,
        must_enrol_totp=totp.must_enrol(user, settings),
    )


def resolve_session(session: Session, token: str | None, settings: Settings | None = None) -> Actor | None:
    """The actor of a live login session that may act (None while a one-time password awaits its change)."""
    live = resolve_login(session, token, settings)
    if live is None or not live.may_act:
        return None
    return live.actor


def logout(session: Session, token: str | None) -> None:
    if not token:
        return
    row = session.get(LoginSession, token_id(token))
    if row is not None and not row.revoked:
        row.revoked = True
        audit.record(session, actor_of(row.user), "logout")


def end_sessions(session: Session, user_id: int, *, keep: str | None = None) -> int:
    """Revoke every live session of a user at once (deactivation, role change, password change);
    ``keep`` spares one session id (the one that changed its own password)."""
    query = update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.revoked.is_(False))
    if keep:
        query = query.where(LoginSession.id != keep)
    result = session.execute(query.values(revoked=True))
    return int(getattr(result, "rowcount", 0) or 0)
