"""Local accounts: argon2 password hashes, roles, login sessions with expiry."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import ROLES, LoginSession, User, utcnow

from annotate.services import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import NotFound, PermissionDenied, ServiceError

_hasher = PasswordHasher()
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
MIN_PASSWORD = 8


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; they were written as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.username, user.display_name, user.role)


def create_user(
    session: Session,
    actor: Actor | None,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
) -> Actor:
    """Create a local account. ``actor`` None is the command line run by the machine's owner."""
    if actor is not None:
        require_role(actor, "admin")
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise ServiceError(
            f"Username {username!r} is not allowed: use 2–80 lowercase letters, digits, '.', '_' or '-'."
        )
    if role not in ROLES:
        raise ServiceError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if len(password) < MIN_PASSWORD:
        raise ServiceError(f"The password must have at least {MIN_PASSWORD} characters.")
    if session.scalar(select(User).where(User.username == username)):
        raise ServiceError(f"A user named {username!r} already exists; choose another name.")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password),
        role=role,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", username=username, role=role)
    return actor_of(user)


def list_users(session: Session, actor: Actor, role: str | None = None) -> list[Actor]:
    require_role(actor, "researcher")
    query = select(User).where(User.active.is_(True)).order_by(User.username)
    if role:
        query = query.where(User.role == role)
    return [actor_of(u) for u in session.scalars(query)]


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"No user named {username!r}. List users with `annotate users list`.")
    return user


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(session: Session, username: str, password: str, hours: float) -> tuple[str, Actor]:
    """Check a password and open a login session; returns (token for the cookie, actor)."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    ok = False
    if user is not None and user.active:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        # Spend the same time on unknown names so timing does not reveal which users exist.
        _hasher.hash(password)
    if not ok or user is None:
        audit.record(session, None, "login.failed", username=username[:80])
        raise PermissionDenied("Wrong username or password.")
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            id=_token_id(token),
            user_id=user.id,
            expires_at=utcnow() + dt.timedelta(hours=hours),
        )
    )
    actor = actor_of(user)
    audit.record(session, actor, "login")
    return token, actor


def resolve_session(session: Session, token: str | None) -> Actor | None:
    """The actor of a live login session, or None when the token is unknown, revoked or expired."""
    if not token:
        return None
    row = session.get(LoginSession, _token_id(token))
    if row is None or row.revoked or as_utc(row.expires_at) <= utcnow() or not row.user.active:
        return None
    return actor_of(row.user)


def logout(session: Session, token: str | None) -> None:
    if not token:
        return
    row = session.get(LoginSession, _token_id(token))
    if row is not None and not row.revoked:
        row.revoked = True
        audit.record(session, actor_of(row.user), "logout")
