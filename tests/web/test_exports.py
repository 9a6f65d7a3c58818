"""``/api/export``: exports served by the web server, the ratings and history CSV streamed.

The bytes are the services' own; who may download is decided on every request from the login
cookie; errors before the first byte are HTTP errors with the service's message, errors after it
break the connection; a reader that goes away stops the writer and nothing is committed."""

from __future__ import annotations

import io
import threading
import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from annotate.db.models import AuditLog
from annotate.services import exchange
from annotate.services.errors import ServiceError
from annotate.web import exports
from annotate.web.routes import ROUTES, AuthGate
from tests.services.exchange.test_exports import rated  # noqa: F401  (fixture)
from tests.web.test_routes import log_in


@pytest.fixture
def client(env, session, people, rated):  # noqa: F811
    home = Route("/", lambda r: PlainTextResponse("app"))
    app = Starlette(routes=[*ROUTES, home], middleware=[Middleware(AuthGate)])
    return TestClient(app, follow_redirects=False)


def _audits(session, action: str) -> int:
    session.expire_all()
    return len(session.scalars(select(AuditLog).where(AuditLog.action == action)).all())


@pytest.mark.parametrize("fmt", ["csv", "history"])
def test_streamed_csv_is_the_services_bytes_and_audited(client, session, people, rated, fmt) -> None:  # noqa: F811
    log_in(client, "res")
    before = _audits(session, f"export.{fmt}")
    r = client.get(exchange.export_url(rated, fmt, "masked"))
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].startswith(f'attachment; filename="{rated}_masked_')
    assert r.headers["cache-control"] == "no-store"
    writer = exchange.write_ratings_csv if fmt == "csv" else exchange.write_history_csv
    expected = io.StringIO()
    writer(session, people["res"], rated, expected, "masked")
    session.rollback()
    assert r.content == expected.getvalue().encode("utf-8")
    assert r.text.count("\r\n") > 2 and "participant" in r.text.split("\r\n")[0]
    assert _audits(session, f"export.{fmt}") == before + 1


def test_other_formats_are_export_file(client, people, rated) -> None:  # noqa: F811
    log_in(client, "res")
    r = client.get(exchange.export_url(rated, "xlsx", "masked"))
    assert r.status_code == 200
    assert (
        r.headers["content-disposition"]
        == f"attachment; filename=\"{rated}_masked.xlsx\"; filename*=UTF-8''{rated}_masked.xlsx"
    )
    assert "ratings" in load_workbook(io.BytesIO(r.content)).sheetnames
    sav = client.get(exchange.export_url(rated, "sav", "masked", table="segments"))
    assert sav.status_code == 200 and sav.headers["content-disposition"].endswith("_segments.sav")


def test_who_may_download_is_decided_per_request(client, people, rated) -> None:  # noqa: F811
    url = exchange.export_url(rated, "csv", "masked")
    assert client.get(url).status_code == 403  # no login
    log_in(client, "r1")
    refused = client.get(url)
    assert refused.status_code == 403 and "researcher" in refused.text and "participant" not in refused.text
    log_in(client, "res")
    assert client.get(exchange.export_url("NOPE", "csv", "masked")).status_code == 404
    full = client.get(exchange.export_url(rated, "csv", "full"))  # before unblinding
    assert full.status_code in (400, 403) and "unblind" in full.text.lower()
    bad = client.get(exchange.export_url(rated, "exe", "masked"))
    assert bad.status_code == 400 and "format must be one of" in bad.text
    client.post("/api/logout", headers={"Origin": "http://testserver"})
    assert client.get(url).status_code == 403


def test_an_error_after_the_first_byte_breaks_the_download() -> None:
    body = exports._body(b"header\r\n", iter([b"row\r\n", ServiceError("the database went away")]))
    assert next(body) == b"header\r\n" and next(body) == b"row\r\n"
    with pytest.raises(ServiceError, match="went away"):
        next(body)


def test_a_reader_that_stops_reading_holds_the_writer_and_a_closed_one_stops_it(env, people, monkeypatch) -> None:
    monkeypatch.setattr(exports, "CHUNK_CHARS", 10)
    written: list[int] = []
    finished = threading.Event()

    def writer(session, actor, study, out, mode) -> None:
        try:
            for i in range(1000):
                out.write("x" * 10)
                written.append(i)
        finally:
            finished.set()

    items = exports._stream(people["res"], writer, "T1", "masked")
    assert next(items) == b"x" * 10
    time.sleep(0.5)
    assert len(written) <= 2 + exports.QUEUE_CHUNKS  # bounded: the writer waits for the reader
    items.close()  # the tab was closed
    assert finished.wait(10) and len(written) < 1000
