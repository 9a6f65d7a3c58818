"""The local-folder backend (the default): keys are paths under one folder."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from annotate.store.base import CHUNK, MediaStore, StoreError, validate_key


class LocalStore(MediaStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _atomic(self, key: str) -> tuple[Path, Path]:
        dst = self._path(key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        return dst, dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.partial")

    def put_file(self, src: Path, key: str, *, move: bool = False) -> None:
        dst, tmp = self._atomic(key)
        if move:
            try:
                os.replace(src, dst)  # same file system: a rename, no copy
                return
            except OSError:
                pass
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
            if move:
                Path(src).unlink(missing_ok=True)
        finally:
            tmp.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        dst, tmp = self._atomic(key)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, dst)
        finally:
            tmp.unlink(missing_ok=True)

    def get_file(self, key: str, dst: Path) -> None:
        src = self._path(key)
        if not src.is_file():
            raise StoreError(f"{key} is missing from the media store {self.root}.")
        shutil.copyfile(src, dst)

    def get_bytes(self, key: str) -> bytes:
        src = self._path(key)
        if not src.is_file():
            raise StoreError(f"{key} is missing from the media store {self.root}.")
        return src.read_bytes()

    def size(self, key: str) -> int | None:
        p = self._path(key)
        return p.stat().st_size if p.is_file() else None

    def open_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        path = self._path(key)
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            raise StoreError(f"{key} is missing from the media store {self.root}.") from None
        with fh:
            fh.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = fh.read(min(CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk

    def list_keys(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        out = []
        for f in self.root.rglob("*"):
            if f.is_file():
                rel = f.relative_to(self.root).as_posix()
                if rel.startswith(prefix):
                    out.append(rel)
        return sorted(out)

    def delete(self, key: str) -> None:
        p = self._path(key)
        p.unlink(missing_ok=True)
        parent = p.parent
        while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    def local_path(self, key: str) -> Path | None:
        return self._path(key)
