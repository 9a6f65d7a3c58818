"""Local accounts and their lifecycle: create, change own password, admin reset (one-time password),
role change, deactivate/activate (sessions end at once), unlock, the account list, e-signatures.

Every change is audited. Role changes and deactivation by a person carry an e-signature
(:func:`sign`: the password again and the meaning of the signature, 21 CFR Part 11 §11.50/§11.200);
the command line run by the machine's owner (no ``--as``) acts without one and is audited as ``cli``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.db.models import ROLES, User, utcnow
from annotate.services.accounts import audit, passwords
from annotate.services.accounts.sessions import actor_of, as_utc, end_sessions
from annotate.services.actor import Actor, require_role
from annotate.services.errors import NotFound, PermissionDenied, ServiceError

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
MIN_PASSWORD = min(passwords.MIN_LENGTH.values())
STATES = ("active", "deactivated", "locked")


def create_user(
    session: Session,
    actor: Actor | None,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    *,
    is_demo: bool = False,
    must_change_password: bool = False,
) -> Actor:
    """Create a local account. ``actor`` None is the command line run by the machine's owner.

    Demo accounts (``is_demo``) keep the published demo passwords, so they skip the password rules;
    while one is active every page shows a banner and ``annotate serve`` needs ``--demo``."""
    if actor is not None:
        require_role(actor, "admin")
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise ServiceError(
            f"Username {username!r} is not allowed: use 2–80 lowercase letters, digits, '.', '_' or '-'."
        )
    if role not in ROLES:
        raise ServiceError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if not is_demo:
        passwords.check_rules(password, role, username)
    if session.scalar(select(User).where(User.username == username)):
        raise ServiceError(f"A user named {username!r} already exists; choose another name.")
    user = User(
        username=username,
        display_name=(display_name or username).strip()[:200],
        password_hash=passwords.hash_password(password),
        role=role,
        is_demo=is_demo,
        must_change_password=must_change_password,
        password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", username=username, role=role, demo=is_demo)
    return actor_of(user)


def list_users(session: Session, actor: Actor, role: str | None = None) -> list[Actor]:
    """Active accounts (pickers on the assignment and reliability pages)."""
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


@dataclass(frozen=True)
class AccountInfo:
    """One row of the account list (``annotate users list --json``, the Users page)."""

    username: str
    display_name: str
    role: str
    state: str  # active, deactivated or locked
    last_login: str | None  # ISO 8601, UTC
    failed_attempts: int
    demo: bool
    must_change_password: bool
    second_factor: bool = False  # a TOTP authenticator is set up

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def state_of(user: User, now: dt.datetime | None = None) -> str:
    if not user.active:
        return "deactivated"
    if user.locked_until is not None and as_utc(user.locked_until) > (now or utcnow()):
        return "locked"
    return "active"


def accounts_list(session: Session, actor: Actor) -> list[AccountInfo]:
    """Every account with its state (admins)."""
    require_role(actor, "admin")
    now = utcnow()
    return [
        AccountInfo(
            u.username,
            u.display_name,
            u.role,
            state_of(u, now),
            as_utc(u.last_login_at).isoformat(timespec="seconds") if u.last_login_at else None,
            u.failed_attempts or 0,
            bool(u.is_demo),
            bool(u.must_change_password),
            bool(u.totp_secret),
        )
        for u in session.scalars(select(User).order_by(User.username))
    ]


@dataclass(frozen=True)
class Signature:
    """An e-signature: who, when, and what the signer declared (the meaning)."""

    username: str
    meaning: str
    at: str

    def as_detail(self) -> dict[str, str]:
        return {"signed_by": self.username, "meaning": self.meaning, "signed_at": self.at}


def sign(session: Session, actor: Actor, password: str, meaning: str) -> Signature:
    """Check the actor's password again and return the signature of ``meaning``
    ("I approve locking study T1"); a wrong password is refused (and audited as refused)."""
    meaning = " ".join(meaning.split())[:500]
    if not meaning:
        raise ServiceError("Say what you sign (e.g. 'I approve locking study T1').")
    user = session.get(User, actor.account_id)
    if user is None or not user.active or not passwords.verify_password(user.password_hash, password):
        raise PermissionDenied(
            "The password given for the signature is wrong; nothing was changed.",
            actor=actor,
            operation="accounts.sign",
        )
    return Signature(user.username, meaning, utcnow().isoformat(timespec="seconds"))


def signature_detail(actor: Actor | None, signature: Signature | None, what: str) -> dict[str, str]:
    """The signature's audit detail; a person (not the machine's owner) must sign ``what``."""
    if actor is None or actor.user_id is None:
        return {}
    if signature is None or signature.username != actor.username:
        raise ServiceError(f"{what} needs your e-signature: enter your password and what you approve.")
    return signature.as_detail()


def _active_admins(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(User.role == "admin", User.active.is_(True))) or 0)


def change_password(session: Session, actor: Actor, old: str, new: str, *, keep_session: str | None = None) -> None:
    """Change one's own password (the old one is required); other sessions of the account end."""
    user = session.get(User, actor.account_id)
    if user is None or not passwords.verify_password(user.password_hash, old):
        raise PermissionDenied("The current password is wrong; the password was not changed.", actor=actor)
    if passwords.verify_password(user.password_hash, new):
        raise passwords.WeakPassword("The new password must differ from the current one.")
    passwords.check_rules(new, user.role, user.username)
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    user.is_demo = False  # a demo account with a password of its owner's choice is no longer a demo login
    user.password_changed_at = utcnow()
    ended = end_sessions(session, user.id, keep=keep_session)
    audit.record(session, actor, "user.password_change", username=user.username, sessions_ended=ended)


def set_password(session: Session, actor: Actor | None, username: str, new: str) -> None:
    """Set another account's password (admins; ``annotate users passwd``); its sessions end."""
    if actor is not None:
        require_role(actor, "admin")
    user = get_user(session, username)
    passwords.check_rules(new, user.role, user.username)
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    user.is_demo = False
    user.password_changed_at = utcnow()
    user.failed_attempts, user.locked_until = 0, None
    ended = end_sessions(session, user.id)
    audit.record(session, actor, "user.password_set", username=user.username, sessions_ended=ended)


def reset_password(session: Session, actor: Actor | None, username: str) -> str:
    """Give ``username`` a one-time password (returned, never stored in clear) that must be changed at
    the next login; the account's sessions end and a lock is lifted."""
    if actor is not None:
        require_role(actor, "admin")
    user = get_user(session, username)
    one_time = "-".join(secrets.token_urlsafe(6) for _ in range(3))  # 3 × 8 characters
    user.password_hash = passwords.hash_password(one_time)
    user.must_change_password = True
    user.is_demo = False
    user.password_changed_at = utcnow()
    user.failed_attempts, user.locked_until = 0, None
    ended = end_sessions(session, user.id)
    audit.record(session, actor, "user.password_reset", username=user.username, sessions_ended=ended)
    return one_time


def set_role(
    session: Session, actor: Actor | None, username: str, role: str, *, signature: Signature | None = None
) -> Actor:
    """Change an account's role (admins, e-signed); its sessions end so every page is rebuilt for the new role."""
    if actor is not None:
        require_role(actor, "admin")
    if role not in ROLES:
        raise ServiceError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    user = get_user(session, username)
    if user.role == role:
        return actor_of(user)
    if user.role == "admin" and user.active and _active_admins(session) <= 1:
        raise ServiceError(f"{user.username} is the last active admin; make another admin first.")
    signed = signature_detail(actor, signature, f"Changing the role of {user.username}")
    old = user.role
    user.role = role
    ended = end_sessions(session, user.id)
    audit.record(
        session,
        actor,
        "user.role",
        username=user.username,
        old=old,
        new=role,
        sessions_ended=ended,
        signature=signed or None,
    )
    return actor_of(user)


def deactivate(session: Session, actor: Actor | None, username: str, *, signature: Signature | None = None) -> int:
    """Deactivate an account (admins, e-signed): it cannot log in, keeps its history, and its
    sessions end at once. Returns how many sessions ended."""
    if actor is not None:
        require_role(actor, "admin")
    user = get_user(session, username)
    if not user.active:
        return 0
    if user.role == "admin" and _active_admins(session) <= 1:
        raise ServiceError(f"{user.username} is the last active admin; make another admin first.")
    signed = signature_detail(actor, signature, f"Deactivating {user.username}")
    user.active = False
    ended = end_sessions(session, user.id)
    audit.record(
        session, actor, "user.deactivate", username=user.username, sessions_ended=ended, signature=signed or None
    )
    return ended


def activate(session: Session, actor: Actor | None, username: str) -> None:
    """Reactivate an account (admins)."""
    if actor is not None:
        require_role(actor, "admin")
    user = get_user(session, username)
    if user.active:
        return
    user.active = True
    user.failed_attempts, user.locked_until = 0, None
    audit.record(session, actor, "user.activate", username=user.username)


def unlock(session: Session, actor: Actor | None, username: str) -> None:
    """Lift a login lockout and clear the failure count (admins)."""
    if actor is not None:
        require_role(actor, "admin")
    user = get_user(session, username)
    had = user.failed_attempts or 0
    user.failed_attempts, user.locked_until = 0, None
    audit.record(session, actor, "user.unlock", username=user.username, failed_attempts=had)


def active_demo_accounts(session: Session) -> list[str]:
    """Usernames of active demo accounts (the banner; ``annotate serve`` refuses without ``--demo``)."""
    return list(
        session.scalars(
            select(User.username).where(User.is_demo.is_(True), User.active.is_(True)).order_by(User.username)
        )
    )
