"""Keys, the store interface and its error."""

from __future__ import annotations

import abc
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from annotate.errors import AnnotateError

# Top-level folders of the layout: what each key is for.
KINDS = ("originals", "proxies", "thumbs", "incoming", "exports")
_KEY = re.compile(r"^(originals|proxies|thumbs|incoming|exports)/[A-Za-z0-9._/-]+$")
CHUNK = 1 << 20


class StoreError(AnnotateError):
    """The media store could not read or write a key (the message names the key and what to fix)."""


def validate_key(key: str) -> str:
    """A key is relative, inside one of :data:`KINDS`, with no ``..`` (it becomes a path or an S3 key).

    Examples
    --------
    >>> validate_key("proxies/ab.mp4")
    'proxies/ab.mp4'
    >>> validate_key("/etc/passwd")
    Traceback (most recent call last):
    ...
    annotate.store.base.StoreError: '/etc/passwd' is not a media-store key (originals/…, proxies/…, thumbs/…).
    """
    if not _KEY.match(key) or ".." in key.split("/"):
        raise StoreError(f"{key!r} is not a media-store key (originals/…, proxies/…, thumbs/…).")
    return key


def original_key(name: str, suffix: str) -> str:
    return validate_key(f"originals/{name}{suffix.lower()}")


def proxy_key(name: str) -> str:
    return validate_key(f"proxies/{name}.mp4")


def incoming_key(name: str, suffix: str) -> str:
    return validate_key(f"incoming/{name}{suffix.lower()}")


def thumbs_prefix(name: str) -> str:
    return validate_key(f"thumbs/{name}")


def key_from_legacy_path(path: str | None) -> str | None:
    """The key of an absolute path stored by older versions (``/…/media/proxies/x.mp4`` →
    ``proxies/x.mp4``); keys pass through, and None stays None. Used by migration 0006.

    Examples
    --------
    >>> key_from_legacy_path("/srv/data/media/proxies/ab.mp4")
    'proxies/ab.mp4'
    >>> key_from_legacy_path("/srv/thumbs/media/thumbs/ab")
    'thumbs/ab'
    >>> key_from_legacy_path("originals/x.mov")
    'originals/x.mov'
    """
    if not path:
        return None
    parts = Path(path).as_posix().split("/")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] in KINDS:
            return "/".join(parts[i:])
    return path


class MediaStore(abc.ABC):
    """What every backend offers. Keys are checked with :func:`validate_key`."""

    url: str

    @abc.abstractmethod
    def put_file(self, src: Path, key: str, *, move: bool = False) -> None:
        """Write the file ``src`` under ``key`` (whole or not at all); ``move`` removes ``src``."""

    @abc.abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abc.abstractmethod
    def get_file(self, key: str, dst: Path) -> None:
        """Copy ``key`` to the local file ``dst`` (whole or not at all)."""

    @abc.abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abc.abstractmethod
    def size(self, key: str) -> int | None:
        """Bytes of ``key``, or None when it is absent."""

    @abc.abstractmethod
    def open_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """The bytes ``start``..``end`` (inclusive, as in HTTP Range) of ``key``, in chunks."""

    @abc.abstractmethod
    def list_keys(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix``, sorted."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""

    @abc.abstractmethod
    def local_path(self, key: str) -> Path | None:
        """The local file of ``key`` when the backend is a folder, else None."""

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list_keys(prefix.rstrip("/") + "/")
        for k in keys:
            self.delete(k)
        return len(keys)

    def sha256(self, key: str) -> str:
        size = self.size(key)
        if size is None:
            raise StoreError(f"{key} is missing from the media store.")
        digest = hashlib.sha256()
        for chunk in self.open_range(key, 0, size - 1) if size else []:
            digest.update(chunk)
        return digest.hexdigest()

    @contextmanager
    def readable(self, key: str, scratch: Path) -> Iterator[Path]:
        """A local file with the bytes of ``key``: the store's own file for a folder, else a
        download into ``scratch`` that is removed afterwards (no media stays on local disk)."""
        local = self.local_path(key)
        if local is not None:
            if not local.is_file():
                raise StoreError(f"{key} is missing from the media store.")
            yield local
            return
        scratch.mkdir(parents=True, exist_ok=True)
        dst = scratch / key.replace("/", "_")
        self.get_file(key, dst)
        try:
            yield dst
        finally:
            dst.unlink(missing_ok=True)
