"""Accounts and the audit trail: local users with argon2 passwords and NIST SP 800-63B rules
(``passwords``), their lifecycle and e-signatures (``users``), login sessions with throttling,
lockout and timeouts (``sessions``), and the append-only, hash-chained ``audit`` trail.

The names below are the capability's public API; callers import the package, not its modules.
"""

from __future__ import annotations

from annotate.db.models import ROLES
from annotate.services.accounts import audit, passwords, totp
from annotate.services.accounts.passwords import WeakPassword, check_rules, min_length
from annotate.services.accounts.sessions import (
    LiveLogin,
    LoginRefused,
    actor_by_id,
    actor_of,
    as_utc,
    delay_after,
    end_sessions,
    login,
    logout,
    resolve_login,
    resolve_session,
)
from annotate.services.accounts.users import (
    MIN_PASSWORD,
    STATES,
    USERNAME_RE,
    AccountInfo,
    Signature,
    accounts_list,
    activate,
    active_demo_accounts,
    change_password,
    create_user,
    deactivate,
    get_user,
    list_users,
    reset_password,
    set_password,
    set_role,
    sign,
    signature_detail,
    unlock,
)

__all__ = [
    "MIN_PASSWORD",
    "ROLES",
    "STATES",
    "USERNAME_RE",
    "AccountInfo",
    "LiveLogin",
    "LoginRefused",
    "Signature",
    "WeakPassword",
    "accounts_list",
    "activate",
    "active_demo_accounts",
    "actor_by_id",
    "actor_of",
    "as_utc",
    "audit",
    "change_password",
    "check_rules",
    "create_user",
    "deactivate",
    "delay_after",
    "end_sessions",
    "get_user",
    "list_users",
    "login",
    "logout",
    "min_length",
    "passwords",
    "reset_password",
    "resolve_login",
    "resolve_session",
    "set_password",
    "set_role",
    "sign",
    "signature_detail",
    "totp",
    "unlock",
]
