"""The media store: the one component that owns where media bytes live.

Everything else names media by a *key* relative to the store (``originals/<hex>.mp4``,
``proxies/<hex>.mp4``, ``thumbs/<hex>/0001.jpg``, ``thumbs/<hex>/activity.npz``,
``incoming/<hex>.mov``); the database keeps keys, never absolute paths, so a restore into another
folder or bucket keeps every film playable. Two backends: a local folder (default) and
S3-compatible object storage (``ANNOTATE_MEDIA_URL=s3://bucket/prefix``) through boto3.

Examples
--------
>>> import tempfile, pathlib
>>> store = LocalStore(pathlib.Path(tempfile.mkdtemp()))
>>> store.put_bytes(proxy_key("ab12"), b"0123456789")
>>> b"".join(store.open_range("proxies/ab12.mp4", 2, 5))
b'2345'
>>> store.list_keys("proxies/")
['proxies/ab12.mp4']
"""

from annotate.store.base import (
    KINDS,
    MediaStore,
    StoreError,
    incoming_key,
    key_from_legacy_path,
    original_key,
    proxy_key,
    thumbs_prefix,
    validate_key,
)
from annotate.store.local import LocalStore
from annotate.store.open import open_store
from annotate.store.s3 import S3Store

__all__ = [
    "KINDS",
    "LocalStore",
    "MediaStore",
    "S3Store",
    "StoreError",
    "incoming_key",
    "key_from_legacy_path",
    "open_store",
    "original_key",
    "proxy_key",
    "thumbs_prefix",
    "validate_key",
]
