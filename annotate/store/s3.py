"""The S3-compatible backend through boto3 (AWS, MinIO, Ceph, moto's server in the tests).

Credentials and region come from the standard AWS variables (``AWS_ACCESS_KEY_ID``, …); the
endpoint from ``ANNOTATE_S3_ENDPOINT``. Objects are never public: the media route reads them with
ranged GETs and streams them through the app's own authorisation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from annotate.store.base import CHUNK, MediaStore, StoreError, validate_key


class S3Store(MediaStore):
    def __init__(self, bucket: str, prefix: str = "", endpoint: str | None = None, client: Any = None) -> None:
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=endpoint,
                config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
            )
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")

    def _key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _error(self, key: str, exc: Exception) -> StoreError:
        return StoreError(f"{key} could not be read from or written to {self.url}: {exc}")

    def put_file(self, src: Path, key: str, *, move: bool = False) -> None:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        try:  # multipart for big films; an object appears only when complete
            self.client.upload_file(str(src), self.bucket, self._key(key))
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            raise self._error(key, exc) from None
        if move:
            Path(src).unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise self._error(key, exc) from None

    def get_file(self, key: str, dst: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        tmp = dst.with_name(dst.name + ".partial")
        try:
            self.client.download_file(self.bucket, self._key(key), str(tmp))
            tmp.replace(dst)
        except (BotoCoreError, ClientError) as exc:
            raise self._error(key, exc) from None
        finally:
            tmp.unlink(missing_ok=True)

    def get_bytes(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise self._error(key, exc) from None
        return body

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._error(key, exc) from None
        return int(head["ContentLength"])

    def open_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key), Range=f"bytes={start}-{end}")
        except (BotoCoreError, ClientError) as exc:
            raise self._error(key, exc) from None
        body = obj["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def list_keys(self, prefix: str = "") -> list[str]:
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        cut = len(self.prefix) + 1 if self.prefix else 0
        out: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            out.extend(o["Key"][cut:] for o in page.get("Contents", []))
        return sorted(out)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def local_path(self, key: str) -> Path | None:
        return None
