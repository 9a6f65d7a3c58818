"""Password hashing (argon2id) and the password rules of NIST SP 800-63B §5.1.1.2.

The rules: a minimum length (12 characters for researchers and admins, who see the allocation or
manage accounts; 10 for raters and clinicians), no maximum below 256, any character allowed
(compared after Unicode NFKC normalisation, as 800-63B asks), no composition rules ("one digit,
one symbol"), and refusal of passwords that are commonly used or expected: a bundled list of
common passwords, the username or the tool's name, one repeated character or a plain sequence.
"""

from __future__ import annotations

import functools
import unicodedata
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from annotate.services.errors import ServiceError

# argon2-cffi's defaults are RFC 9106's second recommended option (argon2id, t=3, 64 MiB, p=4).
HASHER = PasswordHasher()
MAX_PASSWORD = 256
MIN_LENGTH = {"admin": 12, "researcher": 12, "clinician": 10, "rater": 10}
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm")


class WeakPassword(ServiceError):
    """A new password that breaks the password rules; the message says which rule."""


def min_length(role: str) -> int:
    """The shortest password allowed for ``role``.

    Examples
    --------
    >>> min_length("admin"), min_length("rater")
    (12, 10)
    """
    return MIN_LENGTH.get(role, 12)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords (lower case)."""
    text = resources.files("annotate.services.accounts").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def normalise(password: str) -> str:
    """NFKC, as 800-63B §5.1.1.2 asks before hashing, so the same password typed on another
    keyboard or system verifies alike."""
    return unicodedata.normalize("NFKC", password)


def check_rules(password: str, role: str, username: str = "") -> None:
    """Raise :class:`WeakPassword` naming the broken rule, or return.

    Examples
    --------
    >>> check_rules("correct horse battery", "admin", "ann")
    >>> check_rules("password1234", "rater")
    Traceback (most recent call last):
    ...
    annotate.services.accounts.passwords.WeakPassword: This password is on the list of commonly used passwords; choose another (a few unrelated words make a good one).
    """
    pw = normalise(password)
    need = min_length(role)
    if len(pw) < need:
        raise WeakPassword(
            f"The password must have at least {need} characters for a {role} (it has {len(pw)}); "
            "a few unrelated words make a long password that is easy to remember."
        )
    if len(pw) > MAX_PASSWORD:
        raise WeakPassword(f"The password may have at most {MAX_PASSWORD} characters (it has {len(pw)}).")
    low = pw.lower()
    if low in common_passwords() or low.rstrip("0123456789!.?") in common_passwords():
        raise WeakPassword(
            "This password is on the list of commonly used passwords; choose another "
            "(a few unrelated words make a good one)."
        )
    if username and low.rstrip("0123456789!.?") in (username.lower(), username.lower()[::-1]):
        raise WeakPassword("The password must not be the username; choose another.")
    if len(set(low)) == 1 or any(low in seq or low in seq[::-1] for seq in _SEQUENCES):
        raise WeakPassword("The password is one repeated character or a plain sequence; choose another.")


def hash_password(password: str) -> str:
    return HASHER.hash(normalise(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; False for a wrong password or a damaged hash."""
    try:
        return bool(HASHER.verify(password_hash, normalise(password)))
    except (VerificationError, InvalidHashError):
        return False


def burn_time(password: str) -> None:
    """Spend what a verification costs, for unknown names (timing must not reveal which names exist)."""
    verify_password(_dummy_hash(), password)


@functools.cache
def _dummy_hash() -> str:
    # Made on first use, not at import: an argon2 hash costs ~0.2 s that every CLI start would pay.
    return HASHER.hash("annotate: no such account")
