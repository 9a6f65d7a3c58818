import time

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from annotate.services import assignments
from annotate.services.films.tokens import sign_media_url
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


def log_in(client, who="r1"):
    """Log ``who`` in through the real form; the client then sends that session cookie."""
    client.cookies.clear()
    own = {"Origin": "http://testserver"}  # the login form refuses cross-origin posts
    ok = client.post("/api/login", data={"username": who, "password": f"{who}-password"}, headers=own)
    assert ok.status_code == 303
    client.cookies.set(COOKIE, ok.cookies.get(COOKIE))
    return ok.cookies.get(COOKIE)


@pytest.fixture
def r1(client):
    log_in(client, "r1")
    return client


def test_range_request_gives_206(r1, people):
    client = r1
    r = client.get(url_for(people), headers={"Range": "bytes=0-99"})
    assert r.status_code == 206
    assert r.headers["content-range"] == "bytes 0-99/4096" and len(r.content) == 100
    assert r.headers["accept-ranges"] == "bytes"
    assert "last-modified" not in r.headers and "content-disposition" not in r.headers


def test_full_request_200(r1, people):
    client = r1
    r = client.get(url_for(people))
    assert r.status_code == 200 and len(r.content) == 4096 and r.headers["content-type"] == "video/mp4"


def test_unsatisfiable_range_416(r1, people):
    client = r1
    r = client.get(url_for(people), headers={"Range": "bytes=5000-6000"})
    assert r.status_code == 416


def test_unknown_film_404(r1, people):
    client = r1
    assert client.get(url_for(people, code="NOPE99")).status_code == 404


def test_bad_signature_403(r1, people):
    client = r1
    url = url_for(people)
    assert client.get(url[:-3] + "xyz").status_code == 403
    assert client.get("/api/media/CODE0").status_code == 403


def test_expired_token_403(r1, people):
    client = r1
    url = sign_media_url(b"test-secret", "CODE0", people["r1"].user_id, 1, now=time.time() - 3600)
    assert client.get(url).status_code == 403


def test_token_of_another_user_does_not_transfer(client, session, people):
    # r2 is assigned too, so only the binding of link and login stops the swap.
    assignments.assign_segments(session, people["res"], "T1", ["r2"], mode="all", seed=2)
    session.commit()
    url = url_for(people)
    log_in(client, "r2")
    assert client.get(url).status_code == 403  # r1's link with r2's login
    assert client.get(url_for(people, who="r2")).status_code == 200


def test_url_carries_no_user_or_database_id(people):
    urls = [url_for(people, who=w, code=c) for w in ("r1", "r2") for c in ("CODE0", "CODE1")]
    for url in urls:
        assert (
            "u=" not in url
            and "e=" not in url
            and set(url.split("?")[1]) - set("t=")
            <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        )
    tokens = {u.split("t=")[1] for u in urls}
    assert len(tokens) == 4  # a film's link differs between raters: nothing to compare


def test_link_needs_a_live_login_of_the_same_user(client, people):
    url = url_for(people)
    assert client.get(url).status_code == 403  # no login at all
    cookie = log_in(client, "r1")
    assert client.get(url).status_code == 200
    client.post("/api/logout", headers={"Origin": "http://testserver"})  # logout is POST only
    client.cookies.set(COOKIE, cookie)  # the old cookie after logout
    assert client.get(url).status_code == 403
    client.cookies.set(COOKIE, "forged-" + "x" * 40)
    assert client.get(url).status_code == 403


def test_rater_without_assignment_and_intervention_film_403(client, people):
    log_in(client, "r2")
    assert client.get(url_for(people, who="r2")).status_code == 403  # r2 has no assignments
    log_in(client, "r1")
    assert client.get(url_for(people, code="CODE4")).status_code == 403  # intervention film
    log_in(client, "clin")
    assert client.get(url_for(people, who="clin", code="CODE4")).status_code == 200  # caseload film
    assert client.get(url_for(people, who="clin", code="CODE0")).status_code == 403  # assessment film


def test_login_sets_cookie_and_gate_lets_through(client):
    assert client.get("/").status_code == 303  # gate: no login yet
    page = client.get("/api/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    own = {"Origin": "http://testserver"}
    bad = client.post("/api/login", data={"username": "r1", "password": "wrong-pass"}, headers=own)
    assert bad.status_code == 401 and "Wrong username or password" in bad.text
    ok = client.post("/api/login", data={"username": "r1", "password": "r1-password"}, headers=own)
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    cookie = ok.cookies.get(COOKIE)
    assert cookie and "httponly" in ok.headers["set-cookie"].lower()
    client.cookies.set(COOKIE, cookie)
    assert client.get("/").status_code == 200
    assert client.get("/api/logout").status_code == 200  # GET only shows the button
    assert client.get("/").status_code == 200
    out = client.post("/api/logout", headers=own)
    assert out.status_code == 303
    client.cookies.set(COOKIE, cookie)  # a stolen copy of the cookie is dead after logout
    assert client.get("/").status_code == 303
