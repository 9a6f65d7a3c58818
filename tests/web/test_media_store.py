"""The media route streams from either store with Range, the bytes unchanged; a backup restored
into a new data folder, or into an S3 bucket, keeps every film playable (the database holds keys)."""

from __future__ import annotations

import dataclasses
import os

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from annotate.config import Settings
from annotate.services import accounts, assignments, exchange
from annotate.services.actor import Actor
from annotate.services.films.tokens import sign_media_url
from annotate.services.session import unit_of_work
from annotate.store import open_store
from annotate.web.auth import COOKIE
from annotate.web.routes import ROUTES, AuthGate

OWNER = Actor(None, "cli", "command line", "admin")
FILM = bytes(range(256)) * 40  # 10 240 bytes standing in for the browser copy


@pytest.fixture(params=["backup in a folder", "backup in a bucket"])
def backed_up(request, env, settings, session, people, study, tmp_path, monkeypatch):
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the backup folder holds a SQLite database (PostgreSQL uses pg_dump)")
    assignments.assign_segments(session, people["res"], study, ["r1"], mode="all", seed=1)
    session.commit()
    (settings.media_dir / "proxies" / "fixture.mp4").write_bytes(FILM)
    if request.param == "backup in a folder":
        return exchange.backup(settings, OWNER, tmp_path / "bk", with_media=True).directory
    endpoint = request.getfixturevalue("s3_server")
    from tests.support.s3 import make_bucket

    made = make_bucket(endpoint)  # a bucket of its own for backups
    bucket = made.pop("ANNOTATE_MEDIA_URL").split("/")[2]
    for k, v in made.items():  # credentials and endpoint, for the backup and the restore
        monkeypatch.setenv(k, v)
    done = exchange.backup(
        dataclasses.replace(settings, s3_endpoint=endpoint), OWNER, f"s3://{bucket}/backups/b1", with_media=True
    )
    assert done.directory == f"s3://{bucket}/backups/b1" and done.media_copied
    return done.directory


def _client() -> TestClient:
    return TestClient(Starlette(routes=ROUTES, middleware=[Middleware(AuthGate)]), follow_redirects=False)


@pytest.mark.parametrize("backend", ["folder", "s3"])
def test_restore_elsewhere_keeps_films_playable(backend, backed_up, settings, people, tmp_path, monkeypatch, request):
    new_env = {
        "ANNOTATE_DATA_DIR": str(tmp_path / "elsewhere"),
        "ANNOTATE_SECRET_KEY": "test-secret",
        "ANNOTATE_SCHEMES_DIR": str(settings.schemes_dir),
    }
    if str(backed_up).startswith("s3://"):  # the backups' bucket is on the same S3 endpoint
        new_env["ANNOTATE_S3_ENDPOINT"] = os.environ["ANNOTATE_S3_ENDPOINT"]
    if backend == "s3":
        new_env.update(request.getfixturevalue("s3_env"))
    monkeypatch.delenv("ANNOTATE_DATABASE_URL")
    for k, v in new_env.items():
        monkeypatch.setenv(k, v)
    target = Settings.from_env(new_env)
    got = exchange.restore(target, OWNER, backed_up)
    assert got.ok and got.media_copied == got.media_checked
    if backend == "s3":
        assert not (tmp_path / "elsewhere" / "media").exists()  # the bytes went to the bucket
        assert open_store(target).size("proxies/fixture.mp4") == len(FILM)
    url = sign_media_url(b"test-secret", "CODE0", people["r1"].user_id, 10)
    with unit_of_work(target) as s:  # media URLs work only with a live login of the same user
        token, _ = accounts.login(s, "r1", "r1-password", hours=1, settings=target)
    with _client() as client:
        client.cookies.set(COOKIE, token)
        part = client.get(url, headers={"Range": "bytes=100-4195"})
        assert part.status_code == 206 and part.content == FILM[100:4196]
        assert part.headers["content-range"] == f"bytes 100-4195/{len(FILM)}"
        assert "last-modified" not in part.headers and "content-disposition" not in part.headers
        tail = client.get(url, headers={"Range": "bytes=-10"})
        assert tail.status_code == 206 and tail.content == FILM[-10:]
        whole = client.get(url)
        assert whole.status_code == 200 and whole.content == FILM
        assert client.get(url, headers={"Range": f"bytes={len(FILM)}-"}).status_code == 416
        assert client.get(url + "x").status_code == 403  # the same authorisation as before
