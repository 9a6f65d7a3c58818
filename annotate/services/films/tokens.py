"""Signed, expiring media URLs that carry no user id and no database id.

A ``<video>`` element cannot send headers, so the media route is authorised by a token in the
URL: ``/api/media/<blind code>?t=<token>``. The token is an itsdangerous signature over the
expiry, salted with the film's blind code and the user's id, so it is opaque (no id can be read
from it), differs between users for the same film (unlinkable between raters), and is worthless
to anyone else: the route also needs a live login session of that same user (the session cookie
the ``<video>`` request carries), so a URL dies at logout. Expiry is rounded up to a whole bucket
so the URL stays the same across Streamlit reruns (a changed URL would reload the video).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from itsdangerous import BadData, URLSafeSerializer


@dataclass(frozen=True)
class MediaGrant:
    blind_code: str
    user_id: int
    expires: int  # unix seconds


def _serializer(key: bytes, blind_code: str, user_id: int) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt=f"annotate.media|{blind_code}|{user_id}")


def sign_media_url(key: bytes, blind_code: str, user_id: int, minutes: float, now: float | None = None) -> str:
    """A relative URL for ``/api/media/<code>``; stable within a time bucket.

    Examples
    --------
    >>> a = sign_media_url(b"k", "ABC123", 7, 60, now=1000)
    >>> a == sign_media_url(b"k", "ABC123", 7, 60, now=1500)
    True
    >>> a.startswith("/api/media/ABC123?t=") and "7" not in a.split("t=")[1].split(".")[0]
    True
    >>> a == sign_media_url(b"k", "ABC123", 8, 60, now=1000)
    False
    """
    now = time.time() if now is None else now
    bucket = max(60, int(minutes * 60) // 4)
    expires = int(math.ceil((now + minutes * 60) / bucket) * bucket)
    token = _serializer(key, blind_code, user_id).dumps(expires)
    return f"/api/media/{blind_code}?t={token}"


def verify_media_token(
    key: bytes, blind_code: str, user_id: int, token: str, now: float | None = None
) -> MediaGrant | None:
    """The grant when ``token`` was issued to ``user_id`` for ``blind_code`` and has not expired, else None.

    ``user_id`` is the user of the request's login session, never read from the URL.

    Examples
    --------
    >>> url = sign_media_url(b"k", "ABC123", 7, 60, now=1000)
    >>> t = url.split("t=")[1]
    >>> verify_media_token(b"k", "ABC123", 7, t, now=1000).user_id
    7
    >>> verify_media_token(b"k", "ABC123", 8, t, now=1000) is None  # another user's link
    True
    >>> verify_media_token(b"other", "ABC123", 7, t, now=1000) is None
    True
    >>> verify_media_token(b"k", "ABC123", 7, t, now=10**9) is None  # expired
    True
    """
    try:
        expires = _serializer(key, blind_code, user_id).loads(token or "")
    except BadData:
        return None
    if not isinstance(expires, int) or isinstance(expires, bool):
        return None
    now = time.time() if now is None else now
    if expires < now:
        return None
    return MediaGrant(blind_code, user_id, expires)
