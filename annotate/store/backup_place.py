"""Where a backup lives: a local folder or an S3 prefix (``s3://bucket/backups/2026-12-07``).

A backup is a few named files at its top (the database copy, the media manifest, ``backup.json``)
and, optionally, the media files under ``media/`` by their store key. This module owns that
layout for both kinds of place, so :mod:`annotate.services.exchange.backup` reads and writes a
backup the same way whether it goes to a folder or to a bucket (and a restore can read one from
either into either kind of media store).

Examples
--------
>>> import tempfile, pathlib
>>> place = open_backup_place(pathlib.Path(tempfile.mkdtemp()) / "bk")
>>> place.is_empty()
True
>>> place.put_bytes("backup.json", b"{}")
>>> place.get_bytes("backup.json"), place.is_empty()
(b'{}', False)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from annotate.store.base import MediaStore, StoreError
from annotate.store.local import LocalStore
from annotate.store.s3 import S3Store

# The top-level names a backup may hold (anything else is refused: no path is built from input).
NAMES = ("annotate.db", "media_manifest.csv", "backup.json", ".job")


def _name(name: str) -> str:
    if name not in NAMES:
        raise StoreError(f"{name!r} is not part of a backup ({', '.join(NAMES)}).")
    return name


class BackupPlace:
    """The named files and the ``media/`` store of one backup (see the module docstring)."""

    url: str
    media: MediaStore

    def is_empty(self) -> bool:
        raise NotImplementedError

    def put_file(self, src: Path, name: str) -> None:
        raise NotImplementedError

    def put_bytes(self, name: str, data: bytes) -> None:
        raise NotImplementedError

    def get_file(self, name: str, dst: Path) -> None:
        raise NotImplementedError

    def get_bytes(self, name: str) -> bytes:
        raise NotImplementedError

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def clear(self) -> None:
        """Remove everything of this backup (a failed or repeated job attempt starts clean)."""
        raise NotImplementedError


class FolderPlace(BackupPlace):
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.url = str(self.folder)
        self.media = LocalStore(self.folder / "media")

    def is_empty(self) -> bool:
        return not self.folder.exists() or not any(self.folder.iterdir())

    def put_file(self, src: Path, name: str) -> None:
        dst = self.folder / _name(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        if Path(src).resolve() != dst.resolve():
            tmp = dst.with_name(f".{dst.name}.partial")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)

    def put_bytes(self, name: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / _name(name)).write_bytes(data)

    def get_file(self, name: str, dst: Path) -> None:
        shutil.copyfile(self.folder / _name(name), dst)

    def get_bytes(self, name: str) -> bytes:
        return (self.folder / _name(name)).read_bytes()

    def exists(self, name: str) -> bool:
        return (self.folder / _name(name)).is_file()

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class _BackupObjects(S3Store):
    """The named top-level objects of a backup prefix: an S3 store whose keys are backup names."""

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{_name(key)}"


class BucketPlace(BackupPlace):
    def __init__(self, bucket: str, prefix: str, endpoint: str | None = None, client: Any = None) -> None:
        self.prefix = prefix.strip("/")
        if not self.prefix:
            raise StoreError(
                f"Back up into a prefix of the bucket (s3://{bucket}/backups/NAME), not its root, "
                "so that backups and media never mix."
            )
        self.media = S3Store(bucket, f"{self.prefix}/media", endpoint=endpoint, client=client)
        self.objects = _BackupObjects(bucket, self.prefix, client=self.media.client)
        self.client, self.bucket = self.media.client, bucket
        self.url = f"s3://{bucket}/{self.prefix}"

    def is_empty(self) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            got = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix + "/", MaxKeys=1)
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"{self.url} could not be listed: {exc}") from None
        return not got.get("Contents")

    def put_file(self, src: Path, name: str) -> None:
        self.objects.put_file(src, name)

    def put_bytes(self, name: str, data: bytes) -> None:
        self.objects.put_bytes(name, data)

    def get_file(self, name: str, dst: Path) -> None:
        self.objects.get_file(name, dst)

    def get_bytes(self, name: str) -> bytes:
        return self.objects.get_bytes(name)

    def exists(self, name: str) -> bool:
        return self.objects.exists(name)

    def clear(self) -> None:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + "/"):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})


def is_bucket_url(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith("s3://")


def open_backup_place(target: str | Path, endpoint: str | None = None) -> BackupPlace:
    """A folder path, or ``s3://bucket/prefix`` (endpoint and credentials as for the media store).

    Examples
    --------
    >>> open_backup_place("/srv/backups/monday").url
    '/srv/backups/monday'
    """
    if is_bucket_url(target):
        parsed = urlparse(str(target))
        if not parsed.netloc:
            raise StoreError(f"{target!r} names no bucket: use s3://bucket/backups/NAME.")
        return BucketPlace(parsed.netloc, parsed.path, endpoint=endpoint)
    if isinstance(target, str) and "://" in target:
        raise StoreError(f"{target!r} is not understood: back up into a folder or into s3://bucket/prefix.")
    return FolderPlace(Path(target))
