"""Routes under /api: Range-capable media streaming with signed URLs, login and logout.

Streamlit must never hold films in memory (``st.video`` reads the whole file); the browser's
``<video>`` streams the proxy from disk through ``/api/media/<code>`` with HTTP Range instead.
A ``<video>`` element cannot send headers, so the URL carries an HMAC token bound to the user.
"""

from __future__ import annotations

import html
import os
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from annotate.config import get_settings
from annotate.services import media_access, users
from annotate.services.errors import NotFound, PermissionDenied
from annotate.services.session import unit_of_work
from annotate.services.tokens import verify_media_token

COOKIE = "annotate_session"
LOGIN_PATH = "/api/login"
# Paths the auth gate lets through: Streamlit's own machinery and our API (which checks itself).
_OPEN_PREFIXES = ("/api/", "/_stcore/", "/static/", "/component/", "/media/", "/favicon")


def _media(request: Request) -> Response:
    settings = get_settings()
    code = request.path_params["code"]
    q = request.query_params
    with unit_of_work(settings) as session:
        try:
            # 404 first: an unknown film is unknown whoever asks.
            media_access.proxy_for(session, code, -1)
        except NotFound:
            return PlainTextResponse("No such film.", status_code=404)
        except PermissionDenied:
            pass
        grant = verify_media_token(settings.secret_key(), code, q.get("u", ""), q.get("e", ""), q.get("s", ""))
        if grant is None:
            return PlainTextResponse("This film link is invalid or has expired; reload the page.", status_code=403)
        try:
            path = media_access.proxy_for(session, code, grant.user_id)
        except PermissionDenied as exc:
            return PlainTextResponse(str(exc), status_code=403)
        except NotFound as exc:
            return PlainTextResponse(str(exc), status_code=404)
    # No filename (Content-Disposition) and no Last-Modified: the file's mtime is its ingest
    # date, and baseline films are ingested months before follow-ups, so it would reveal the
    # time point. A stat with a neutral mtime keeps Range/ETag working without it.
    real = os.stat(path)
    neutral = os.stat_result((real.st_mode, 0, 0, 1, 0, 0, real.st_size, 0, 0, 0))
    response = FileResponse(path, media_type="video/mp4", stat_result=neutral)
    del response.headers["last-modified"]
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


async def media(request: Request) -> Response:
    return await run_in_threadpool(_media, request)


_LOGIN_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · annotate</title>
<style>
body{{font-family:"Source Sans Pro",system-ui,sans-serif;background:#f6f7f9;color:#262730;margin:0;
display:flex;min-height:100vh;align-items:center;justify-content:center}}
main{{background:#fff;border:1px solid #e6e8ee;border-radius:12px;padding:2rem 2.2rem;width:min(360px,90vw);
box-shadow:0 2px 12px rgba(0,0,0,.05)}}
h1{{font-size:1.4rem;margin:0 0 .3rem}} p.sub{{margin:0 0 1.4rem;color:#6b6f7b;font-size:.95rem}}
label{{display:block;font-size:.9rem;margin:.8rem 0 .3rem}}
input{{width:100%;box-sizing:border-box;padding:.55rem .7rem;border:1px solid #cfd3dc;border-radius:8px;font-size:1rem}}
button{{margin-top:1.3rem;width:100%;padding:.6rem;border:0;border-radius:8px;background:#ff4b4b;color:#fff;
font-size:1rem;cursor:pointer}} .err{{background:#fdecea;color:#a4262c;padding:.6rem .8rem;border-radius:8px;font-size:.9rem}}
</style></head><body><main>
<h1>annotate</h1><p class="sub">Blinded rating of interaction films</p>
{error}
<form method="post" action="/api/login">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus value="{username}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form></main></body></html>"""


def login_page(error: str = "", username: str = "", status: int = 200) -> HTMLResponse:
    err = f'<p class="err" role="alert">{html.escape(error)}</p>' if error else ""
    return HTMLResponse(_LOGIN_HTML.format(error=err, username=html.escape(username)), status_code=status)


def _login(username: str, password: str) -> tuple[str, float] | None:
    settings = get_settings()
    with unit_of_work(settings) as session:
        try:
            token, _actor = users.login(session, username, password, settings.session_hours)
        except PermissionDenied:
            return None
    return token, settings.session_hours


async def login(request: Request) -> Response:
    if request.method == "GET":
        return login_page()
    body = (await request.body()).decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    username, password = form.get("username", ""), form.get("password", "")
    result = await run_in_threadpool(_login, username, password)
    if result is None:
        return login_page("Wrong username or password.", username, status=401)
    token, hours = result
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE, token, max_age=int(hours * 3600), httponly=True, samesite="lax", path="/",
        secure=request.url.scheme == "https",
    )
    return response


def _logout(token: str | None) -> None:
    with unit_of_work(get_settings()) as session:
        users.logout(session, token)


async def logout(request: Request) -> Response:
    await run_in_threadpool(_logout, request.cookies.get(COOKIE))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _session_valid(token: str | None) -> bool:
    with unit_of_work(get_settings()) as session:
        return users.resolve_session(session, token) is not None


class AuthGate:
    """Send page loads without a live login to the login form (the pages check again)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["path"].startswith(_OPEN_PREFIXES):
            request = Request(scope)
            if not await run_in_threadpool(_session_valid, request.cookies.get(COOKIE)):
                await RedirectResponse(LOGIN_PATH, status_code=303)(scope, receive, send)
                return
        await self.app(scope, receive, send)


ROUTES = [
    Route("/api/media/{code}", media, methods=["GET", "HEAD"]),
    Route(LOGIN_PATH, login, methods=["GET", "POST"]),
    Route("/api/logout", logout, methods=["GET", "POST"]),
]
