import time

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from annotate.services import assignments
from annotate.services.tokens import sign_media_url
from annotate.web.routes import COOKIE, ROUTES, AuthGate


@pytest.fixture
def client(env, session, people, study):
    assignments.assign_segments(session, people["res"], study, ["r1"], mode="all", seed=1)
    session.commit()
    home = Route("/", lambda r: PlainTextResponse("app"))
    app = Starlette(routes=[*ROUTES, home], middleware=[Middleware(AuthGate)])
    return TestClient(app, follow_redirects=False)


def url_for(people, who="r1", code="CODE0", minutes=10.0):
    return sign_media_url(b"test-secret", code, people[who].user_id, minutes)


def test_range_request_gives_206(client, people):
    r = client.get(url_for(people), headers={"Range": "bytes=0-99"})
    assert r.status_code == 206
    assert r.headers["content-range"] == "bytes 0-99/4096" and len(r.content) == 100
    assert r.headers["accept-ranges"] == "bytes"
    assert "last-modified" not in r.headers and "content-disposition" not in r.headers


def test_full_request_200(client, people):
    r = client.get(url_for(people))
    assert r.status_code == 200 and len(r.content) == 4096 and r.headers["content-type"] == "video/mp4"


def test_unsatisfiable_range_416(client, people):
    r = client.get(url_for(people), headers={"Range": "bytes=5000-6000"})
    assert r.status_code == 416


def test_unknown_film_404(client, people):
    assert client.get(url_for(people, code="NOPE99")).status_code == 404


def test_bad_signature_403(client, people):
    url = url_for(people)
    assert client.get(url[:-3] + "xyz").status_code == 403
    assert client.get("/api/media/CODE0").status_code == 403


def test_expired_token_403(client, people):
    url = sign_media_url(b"test-secret", "CODE0", people["r1"].user_id, 1, now=time.time() - 3600)
    assert client.get(url).status_code == 403


def test_token_of_another_user_does_not_transfer(client, people):
    url = url_for(people).replace(f"u={people['r1'].user_id}", f"u={people['r2'].user_id}")
    assert client.get(url).status_code == 403


def test_rater_without_assignment_and_intervention_film_403(client, people):
    assert client.get(url_for(people, who="r2")).status_code == 403  # r2 has no assignments
    assert client.get(url_for(people, code="CODE4")).status_code == 403  # intervention film
    assert client.get(url_for(people, who="clin", code="CODE4")).status_code == 200  # caseload film
    assert client.get(url_for(people, who="clin", code="CODE0")).status_code == 403  # assessment film


def test_login_sets_cookie_and_gate_lets_through(client):
    assert client.get("/").status_code == 303  # gate: no login yet
    page = client.get("/api/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    bad = client.post("/api/login", data={"username": "r1", "password": "wrong-pass"})
    assert bad.status_code == 401 and "Wrong username or password" in bad.text
    ok = client.post("/api/login", data={"username": "r1", "password": "r1-password"})
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    cookie = ok.cookies.get(COOKIE)
    assert cookie and "httponly" in ok.headers["set-cookie"].lower()
    client.cookies.set(COOKIE, cookie)
    assert client.get("/").status_code == 200
    out = client.get("/api/logout")
    assert out.status_code == 303
    client.cookies.set(COOKIE, cookie)  # a stolen copy of the cookie is dead after logout
    assert client.get("/").status_code == 303
