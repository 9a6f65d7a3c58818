"""Choose the backend from the settings."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlparse

from annotate.config import Settings
from annotate.store.base import MediaStore, StoreError
from annotate.store.local import LocalStore
from annotate.store.s3 import S3Store


@lru_cache(maxsize=16)
def open_store(settings: Settings) -> MediaStore:
    """The media store of ``settings``: S3 when ``ANNOTATE_MEDIA_URL`` is ``s3://bucket/prefix``,
    else the folder ``ANNOTATE_MEDIA_DIR`` (one store per settings and process: the S3 client is reused).

    Examples
    --------
    >>> open_store(Settings.from_env({"ANNOTATE_DATA_DIR": "/tmp/x"})).url
    'file:///tmp/x/media'
    """
    url = settings.media_url
    if not url:
        return LocalStore(settings.media_dir)
    parsed = urlparse(url)
    if parsed.scheme == "s3" and parsed.netloc:
        return S3Store(parsed.netloc, parsed.path, endpoint=settings.s3_endpoint)
    if parsed.scheme == "file":
        from pathlib import Path

        return LocalStore(Path(parsed.path))
    raise StoreError(f"ANNOTATE_MEDIA_URL={url!r} is not understood: use s3://bucket/prefix, or unset it for a folder.")
