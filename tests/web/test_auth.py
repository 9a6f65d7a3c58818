"""The web surface of accounts: POST-only login/logout with origin checks, SameSite=Strict cookies,
security headers on every response, throttled logins, and Streamlit's /media behind a live login."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from annotate.services import accounts
from annotate.services.accounts import sessions
from annotate.web.routes import COOKIE, ROUTES, AuthGate

OWN = {"Origin": "http://testserver"}


@pytest.fixture
def client(env, session, people):
    sessions.reset_memory()
    routes = [
        *ROUTES,
        Route("/", lambda r: PlainTextResponse("app")),
        Route("/media/{name}", lambda r: PlainTextResponse("participant,arm\nP01,VIPP\n", media_type="text/csv")),
        Route("/component/x", lambda r: PlainTextResponse("component")),
    ]
    yield TestClient(Starlette(routes=routes, middleware=[Middleware(AuthGate)]), follow_redirects=False)
    sessions.reset_memory()


def _login(client, username="r1", password="r1-password", headers=OWN):
    return client.post("/api/login", data={"username": username, "password": password}, headers=headers)


def test_cookie_is_httponly_samesite_strict(client):
    ok = _login(client)
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/form.html"},
        {},
        {"Origin": "http://testserver.evil.example"},
    ],
)
def test_cross_origin_login_and_logout_are_refused(client, headers):
    assert _login(client, headers=headers).status_code == 403
    assert _login(client).status_code == 303
    token = client.cookies.get(COOKIE)
    assert client.post("/api/logout", headers=headers).status_code == 403
    assert client.get("/").status_code == 200 and client.cookies.get(COOKIE) == token  # still logged in


def test_same_origin_referer_without_origin_is_accepted(client):
    assert _login(client, headers={"Referer": "http://testserver/api/login"}).status_code == 303


def test_logout_by_get_does_nothing(client):
    _login(client)
    page = client.get("/api/logout")
    assert page.status_code == 200 and 'method="post"' in page.text
    assert client.get("/").status_code == 200
    assert client.post("/api/logout", headers=OWN).status_code == 303
    assert client.get("/").status_code == 303


def test_security_headers_on_every_response(client):
    for response in (client.get("/"), client.get("/api/login"), client.get("/media/x.csv"), _login(client)):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert "default-src 'self'" in csp and "https:" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-frame-options"] == "DENY"
    component = client.get("/component/x")
    assert "frame-ancestors 'self'" in component.headers["content-security-policy"]


def test_csp_allows_streamlits_one_inline_script():
    from annotate.web.auth import _streamlit_inline_script_hashes

    assert len(_streamlit_inline_script_hashes()) == 1


def test_media_downloads_need_a_live_session(client, session):
    assert client.get("/media/abc.csv").status_code == 403
    _login(client)
    assert client.get("/media/abc.csv").text.startswith("participant")
    token = client.cookies.get(COOKIE)
    # Logged out elsewhere (another tab): the open tab's cookie no longer downloads.
    with TestClient(client.app, follow_redirects=False) as other:
        other.cookies.set(COOKIE, token)
        assert other.post("/api/logout", headers=OWN).status_code == 303
    client.cookies.set(COOKIE, token)
    assert client.get("/media/abc.csv").status_code == 403
    # Deactivation ends the session at once too.
    client.cookies.clear()
    _login(client, "r2", "r2-password")
    assert client.get("/media/abc.csv").status_code == 200
    accounts.deactivate(session, None, "r2")
    session.commit()
    assert client.get("/media/abc.csv").status_code == 403


def test_lockout_message_is_the_same_for_known_and_unknown_names(client):
    known = [_login(client, "r1", "wrong-password-1") for _ in range(6)]
    unknown = [_login(client, "nobody", "wrong-password-1") for _ in range(6)]
    assert [r.status_code for r in known] == [401] * 6
    assert [r.text.replace("r1", "NAME") for r in known] == [r.text.replace("nobody", "NAME") for r in unknown]
    assert "paused for 15 minutes" in known[-1].text
    assert "paused" in _login(client, "r1", "r1-password").text  # the right password waits too


def test_typed_password_in_the_name_field_is_not_echoed(client):
    page = _login(client, "S3cret pass word!<script>", "x")
    assert "S3cret" not in page.text and "<script>" not in page.text


def test_oversized_form_is_refused(client):
    r = client.post(
        "/api/login",
        content=b"username=" + b"a" * 20000,
        headers={**OWN, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413


def test_login_form_takes_the_second_factor_code(client, session, people):
    import pyotp

    from annotate.services.accounts import totp

    assert 'name="code"' in client.get("/api/login").text
    started = totp.new_enrolment(people["r1"])
    earlier = __import__("time").time() - totp.STEP_SECONDS
    totp.confirm_enrolment(session, people["r1"], started.secret, pyotp.TOTP(started.secret).at(earlier), now=earlier)
    session.commit()
    asked = _login(client)
    assert asked.status_code == 401 and "also asks for an authentication code" in asked.text
    ok = client.post(
        "/api/login",
        data={"username": "r1", "password": "r1-password", "code": pyotp.TOTP(started.secret).now()},
        headers=OWN,
    )
    assert ok.status_code == 303 and client.cookies.get(COOKIE)


def test_login_page_preloads_the_apps_own_entry_modules(client):
    """The login page fetches what the app will need (from this server only, files that exist)."""
    import re
    from pathlib import Path

    import streamlit

    page = client.get("/api/login").text
    hrefs = re.findall(r'<link rel="(?:modulepreload|preload)"[^>]* href="([^"]+)"', page)
    static = Path(streamlit.__file__).parent / "static"
    assert any(re.fullmatch(r"/static/js/index\.[\w-]+\.js", h) for h in hrefs), hrefs[:3]
    assert len(hrefs) > 10
    assert all(h.startswith("/static/") and (static / h.lstrip("/")).is_file() for h in hrefs)
    assert "//" not in "".join(h[1:] for h in hrefs)  # no other host, no scheme-relative URL
