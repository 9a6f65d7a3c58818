"""HMAC-signed, expiring media tokens bound to a user and a recording.

A ``<video>`` element cannot send headers, so the media route is authorised by a token in the
URL. Expiry is rounded up to a whole bucket so the URL stays the same across Streamlit reruns
(a changed URL would reload the video).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class MediaGrant:
    blind_code: str
    user_id: int
    expires: int  # unix seconds


def _sig(key: bytes, code: str, user_id: int, expires: int) -> str:
    msg = f"media|{code}|{user_id}|{expires}".encode()
    digest = hmac.new(key, msg, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def sign_media_url(
    key: bytes, blind_code: str, user_id: int, minutes: float, now: float | None = None
) -> str:
    """A relative URL for ``/api/media/<code>``; stable within a time bucket.

    Examples
    --------
    >>> a = sign_media_url(b"k", "ABC123", 7, 60, now=1000)
    >>> a == sign_media_url(b"k", "ABC123", 7, 60, now=1500)
    True
    >>> a.startswith("/api/media/ABC123?u=7&e=")
    True
    """
    now = time.time() if now is None else now
    bucket = max(60, int(minutes * 60) // 4)
    expires = int(math.ceil((now + minutes * 60) / bucket) * bucket)
    sig = _sig(key, blind_code, user_id, expires)
    return f"/api/media/{blind_code}?u={user_id}&e={expires}&s={sig}"


def verify_media_token(
    key: bytes, blind_code: str, user: str, expires: str, sig: str, now: float | None = None
) -> MediaGrant | None:
    """The grant when signature and expiry hold, else None.

    Examples
    --------
    >>> url = sign_media_url(b"k", "ABC123", 7, 60, now=1000)
    >>> q = dict(p.split("=") for p in url.split("?")[1].split("&"))
    >>> verify_media_token(b"k", "ABC123", q["u"], q["e"], q["s"], now=1000).user_id
    7
    >>> verify_media_token(b"other", "ABC123", q["u"], q["e"], q["s"], now=1000) is None
    True
    """
    try:
        user_id, exp = int(user), int(expires)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    if exp < now:
        return None
    if not hmac.compare_digest(_sig(key, blind_code, user_id, exp), sig or ""):
        return None
    return MediaGrant(blind_code, user_id, exp)
