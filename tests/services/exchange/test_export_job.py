"""Exports as jobs: the worker's file is the service's export, only the asker may fetch it, and a
failed job leaves no file. Fetched through the real route."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from annotate.services import exchange, jobs
from annotate.services.errors import PermissionDenied, ServiceError
from annotate.store import open_store
from annotate.web.routes import ROUTES, AuthGate
from tests.services.exchange.test_exports import rated  # noqa: F401  (fixture)
from tests.web.test_routes import log_in


def test_export_job_makes_the_services_file_for_the_asker_only(env, session, settings, people, rated) -> None:  # noqa: F811
    job = exchange.enqueue_export(session, people["res"], settings, rated, "csv", "masked")
    assert jobs.execute(settings, job.id) == "done"
    session.expire_all()
    f = jobs.job_file(session, people["res"], job.id)
    expected = io.StringIO()
    exchange.write_ratings_csv(session, people["res"], rated, expected, "masked")
    session.rollback()
    assert open_store(settings).get_bytes(f.key) == expected.getvalue().encode("utf-8")
    assert [m.title for m in jobs.my_jobs(session, people["res"], "export")] == [f"{rated} · csv · masked"]
    with pytest.raises(PermissionDenied):
        jobs.job_file(session, people["adm"], job.id)  # another account
    client = TestClient(Starlette(routes=ROUTES, middleware=[Middleware(AuthGate)]), follow_redirects=False)
    log_in(client, "res")
    r = client.get(jobs.job_file_url(job.id))
    assert r.status_code == 200 and r.content == expected.getvalue().encode("utf-8")
    assert r.headers["content-disposition"].startswith(f'attachment; filename="{rated}_masked_ratings.csv"')
    log_in(client, "r1")
    assert client.get(jobs.job_file_url(job.id)).status_code == 403


def test_export_job_is_checked_when_queued_and_a_failed_one_keeps_no_file(
    env,
    session,
    settings,
    people,
    rated,  # noqa: F811
) -> None:
    with pytest.raises(PermissionDenied):
        exchange.enqueue_export(session, people["r1"], settings, rated, "csv", "masked")
    with pytest.raises(ServiceError, match="format must be one of"):
        exchange.enqueue_export(session, people["res"], settings, rated, "exe", "masked")
    job = exchange.enqueue_export(session, people["res"], settings, rated, "xlsx", "masked")
    with pytest.raises(ServiceError, match="not ready"):
        jobs.job_file(session, people["res"], job.id)
    assert jobs.execute(settings, job.id) == "done"
    session.expire_all()
    key = jobs.job_file(session, people["res"], job.id).key
    store = open_store(settings)
    assert store.get_bytes(key)[:2] == b"PK"
    from annotate.services.exchange.export_job import run_export_failed

    run_export_failed(SimpleNamespace(payload={"key": key}, store=store), "test")  # type: ignore[arg-type]
    assert store.size(key) is None
