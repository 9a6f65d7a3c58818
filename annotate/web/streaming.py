"""HTTP Range responses over a media-store key (local folder or S3), the bytes unchanged.

No Content-Disposition (file name) and no Last-Modified: a file's mtime is its ingest date, and
baseline films are ingested months before follow-ups, so it would reveal the time point. The ETag
is built from the key (random) and the size only.
"""

from __future__ import annotations

import hashlib
import re

from starlette.responses import PlainTextResponse, Response, StreamingResponse

from annotate.store import MediaStore, StoreError

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end) inclusive for a single ``bytes=`` range; None for no/ignored header; ``"bad"``
    when it cannot be satisfied.

    Examples
    --------
    >>> parse_range("bytes=0-99", 1000), parse_range("bytes=900-", 1000), parse_range("bytes=-10", 1000)
    ((0, 99), (900, 999), (990, 999))
    >>> parse_range("bytes=1000-", 1000), parse_range(None, 1000), parse_range("bytes=0-1,5-6", 1000)
    ('bad', None, None)
    """
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m:
        return None  # multi-range or garbage: serve the whole file, as RFC 9110 allows
    a, b = m.groups()
    if a == "" and b == "":
        return None
    if a == "":
        n = int(b)
        if n == 0:
            return "bad"
        return max(0, size - n), size - 1
    start = int(a)
    end = min(int(b), size - 1) if b else size - 1
    if start >= size or end < start:
        return "bad"
    return start, end


def stream_key(
    store: MediaStore,
    key: str,
    range_header: str | None,
    what: str,
    *,
    media_type: str = "video/mp4",
    headers: dict[str, str] | None = None,
) -> Response:
    """The stored bytes of ``key`` (whole or one Range), with ``headers`` added (e.g. a file name)."""
    extra = headers or {}
    try:
        size = store.size(key)
    except StoreError as exc:
        return PlainTextResponse(f"{what} cannot be read from the media store: {exc}", status_code=503)
    if size is None:
        return PlainTextResponse(f"{what} is missing from the media store.", status_code=404)
    etag = '"' + hashlib.sha256(f"{key}:{size}".encode()).hexdigest()[:32] + '"'
    headers = {"Accept-Ranges": "bytes", "ETag": etag, "Cache-Control": "private, max-age=3600", **extra}
    rng = parse_range(range_header, size)
    if rng == "bad":
        return PlainTextResponse(
            "Requested range not satisfiable", status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"}
        )
    start, end, status = 0, size - 1, 200
    if isinstance(rng, tuple):
        (start, end), status = rng, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    body = store.open_range(key, start, end) if size else iter([b""])
    return StreamingResponse(body, status_code=status, media_type=media_type, headers=headers)
