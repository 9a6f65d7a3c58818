"""Both media-store backends, the folder and S3 (a real moto server on 127.0.0.1), behave alike:
ranges, listing, deletion, checksums, and keys that cannot escape the store."""

from __future__ import annotations

import hashlib

import pytest

from annotate.config import Settings
from annotate.store import LocalStore, StoreError, key_from_legacy_path, open_store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "media")
    env = request.getfixturevalue("s3_env")
    return open_store(Settings.from_env({"ANNOTATE_DATA_DIR": str(tmp_path), **env}))


def test_round_trip_ranges_list_delete(store, tmp_path):
    data = bytes(range(256)) * 5000  # 1.28 MB: more than one read chunk
    src = tmp_path / "film.bin"
    src.write_bytes(data)
    store.put_file(src, "proxies/ab.mp4")
    store.put_bytes("thumbs/ab/0001.jpg", b"\xff\xd8jpeg")
    store.put_bytes("thumbs/ab/0002.jpg", b"\xff\xd8jpeg2")
    assert store.size("proxies/ab.mp4") == len(data)
    assert b"".join(store.open_range("proxies/ab.mp4", 0, len(data) - 1)) == data
    assert b"".join(store.open_range("proxies/ab.mp4", 1_000_000, 1_100_000)) == data[1_000_000:1_100_001]
    assert b"".join(store.open_range("proxies/ab.mp4", 7, 7)) == data[7:8]
    assert store.sha256("proxies/ab.mp4") == hashlib.sha256(data).hexdigest()
    assert store.list_keys("thumbs/") == ["thumbs/ab/0001.jpg", "thumbs/ab/0002.jpg"]
    assert store.delete_prefix("thumbs/ab") == 2
    assert store.list_keys("") == ["proxies/ab.mp4"]
    store.delete("proxies/ab.mp4")
    store.delete("proxies/ab.mp4")  # twice is fine
    assert store.size("proxies/ab.mp4") is None
    assert store.list_keys("") == []


def test_readable_leaves_no_copy_behind(store, tmp_path):
    store.put_bytes("originals/x.mov", b"film bytes")
    scratch = tmp_path / "scratch"
    with store.readable("originals/x.mov", scratch) as path:
        assert path.read_bytes() == b"film bytes"
    assert not scratch.exists() or not any(scratch.iterdir())
    with pytest.raises(StoreError, match=r"originals/none\.mov"), store.readable("originals/none.mov", scratch):
        pass


@pytest.mark.parametrize(
    "bad", ["/etc/passwd", "../x", "proxies/../../etc/passwd", "other/x.mp4", "proxies/a\nb", "proxies/😀.mp4", ""]
)
def test_keys_cannot_escape_the_store(store, bad):
    with pytest.raises(StoreError, match="not a media-store key"):
        store.put_bytes(bad, b"x")


def test_legacy_absolute_paths_become_keys():
    assert key_from_legacy_path("/home/ann/annotate-data/media/originals/ab.mov") == "originals/ab.mov"
    assert key_from_legacy_path("C:/data/media/thumbs/ab") == "thumbs/ab"
    assert key_from_legacy_path(None) is None
