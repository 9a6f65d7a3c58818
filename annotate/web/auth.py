"""Login and logout (``/api/login``, ``/api/logout``), the gate in front of every request, and the
security headers on every response (ours and Streamlit's).

- Login is a form POST to ``/api/login`` answered by a 303 that sets the cookie (HttpOnly,
  SameSite=Strict, Secure over HTTPS). Logout is POST only; ``GET /api/logout`` shows a button.
  Both POSTs are refused unless Origin (or, without it, Referer) is this app's own origin.
- Failed logins wait the delay the service asks for (growing with the failures in a row) and get
  the same answer for known and unknown names.
- The gate sends page loads without a live login to the login form, and refuses Streamlit's
  ``/media/`` files (downloads, images) without a live login: an open tab whose session ended
  elsewhere cannot fetch an export any more.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from annotate.config import get_settings
from annotate.services import accounts
from annotate.services.session import unit_of_work

COOKIE = "annotate_session"
LOGIN_PATH = "/api/login"
LOGOUT_PATH = "/api/logout"
MAX_FORM_BYTES = 8192
# Paths the auth gate lets through: Streamlit's own machinery and our API (which checks itself).
_OPEN_PREFIXES = ("/api/", "/_stcore/", "/static/", "/component/", "/favicon")
_LOGIN_REQUIRED_PREFIXES = ("/media/",)


@lru_cache(maxsize=1)
def _streamlit_index() -> str:
    """The installed Streamlit's index.html ("" when it cannot be read)."""
    import importlib.util

    spec = importlib.util.find_spec("streamlit")
    if spec is None or not spec.origin:
        return ""
    try:
        return (Path(spec.origin).parent / "static" / "index.html").read_text("utf-8")
    except OSError:
        return ""


@lru_cache(maxsize=1)
def app_preloads() -> str:
    """``<link>`` tags for the login page: the app's entry module, the modules it imports and its
    stylesheet, taken from the installed Streamlit's index.html.

    Measured (bench/bench_first_login.py): about half of a login's wait is the browser fetching and
    compiling the app's ~50 entry modules after the redirect. Fetched while the user types the
    password, they come from the cache (Streamlit serves them ``immutable``) when the app opens.
    """
    index = _streamlit_index()
    modules = re.findall(r'<script type="module" crossorigin src="\./(static/js/[\w.\-]+\.js)"', index)
    modules += re.findall(r'<link rel="modulepreload" crossorigin href="\./(static/js/[\w.\-]+\.js)"', index)
    styles = re.findall(r'<link rel="stylesheet" crossorigin href="\./(static/css/[\w.\-]+\.css)"', index)
    tags = [f'<link rel="modulepreload" crossorigin href="/{m}">' for m in dict.fromkeys(modules)]
    tags += [f'<link rel="preload" as="style" crossorigin href="/{c}">' for c in styles]
    return "\n".join(tags)


@lru_cache(maxsize=1)
def _streamlit_inline_script_hashes() -> tuple[str, ...]:
    """CSP hashes of the inline scripts in the installed Streamlit's index.html (one, setting
    ``window.prerenderReady``), so no 'unsafe-inline' is needed for scripts."""
    index = _streamlit_index()
    bodies = re.findall(r"<script>(.*?)</script>", index, flags=re.S)
    return tuple(
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode('utf-8')).digest()).decode()}'" for body in bodies
    )


def content_security_policy(frame_ancestors: str = "'none'") -> str:
    """The CSP of every response. What Streamlit 1.67 needs and why:

    - ``script-src 'self' blob:`` + the hash of index.html's one inline script: st.components.v2
      (the film player) loads its JavaScript as a blob: module; 'wasm-unsafe-eval' for Arrow/WASM;
    - ``style-src 'self' 'unsafe-inline'``: emotion writes <style> elements and style attributes;
    - ``worker-src 'self' blob:``, ``img-src/media-src 'self' data: blob:``;
    - ``connect-src 'self'`` covers the same-origin websocket (/_stcore/stream);
    - nothing from other hosts: fonts and the favicon are Streamlit's own files.
    """
    scripts = " ".join(("'self'", "blob:", "'wasm-unsafe-eval'", *_streamlit_inline_script_hashes()))
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "frame-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def security_headers(path: str) -> list[tuple[str, str]]:
    """Headers added to every response; Streamlit's component iframes (``/component/``) may be framed by the app itself."""
    own_frame = path.startswith("/component/")
    return [
        ("Content-Security-Policy", content_security_policy("'self'" if own_frame else "'none'")),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),  # not no-referrer: that makes a form POST's Origin "null"
        ("X-Frame-Options", "SAMEORIGIN" if own_frame else "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ]


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · annotate</title>
{head}<style>
/* Colours meet WCAG 2.1 AA contrast (button white on #c7302f 5.4:1); focus is always visible. */
body{{font-family:"Source Sans Pro",system-ui,sans-serif;background:#f6f7f9;color:#262730;margin:0;
display:flex;min-height:100vh;align-items:center;justify-content:center}}
main{{background:#fff;border:1px solid #e6e8ee;border-radius:12px;padding:2rem 2.2rem;width:min(360px,90vw);
box-shadow:0 2px 12px rgba(0,0,0,.05)}}
h1{{font-size:1.4rem;margin:0 0 .3rem}} p.sub{{margin:0 0 1.4rem;color:#6b6f7b;font-size:.95rem}}
label{{display:block;font-size:.9rem;margin:.8rem 0 .3rem}}
input{{width:100%;box-sizing:border-box;padding:.55rem .7rem;border:1px solid #cfd3dc;border-radius:8px;font-size:1rem}}
button{{margin-top:1.3rem;width:100%;padding:.6rem;border:0;border-radius:8px;background:#c7302f;color:#fff;
font-size:1rem;cursor:pointer}} :focus-visible{{outline:3px solid #1a5fb4;outline-offset:2px}} .opt{{color:#6b6f7b;font-size:.85rem}} .err{{background:#fdecea;color:#a4262c;padding:.6rem .8rem;border-radius:8px;font-size:.9rem}}
</style></head><body><main>
<h1>annotate</h1><p class="sub">Blinded rating of interaction films</p>
{body}
</main></body></html>"""

_LOGIN_FORM = """{error}
<form method="post" action="/api/login">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus value="{username}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="code">Authentication code <span class="opt">(only if your account has one)</span></label><input id="code" name="code" autocomplete="one-time-code" inputmode="text" maxlength="20">
<button type="submit">Log in</button>
</form>"""

_LOGOUT_FORM = """<p>Log out of annotate on this browser?</p>
<form method="post" action="/api/logout"><button type="submit" id="logout">Log out</button></form>"""


def _page(title: str, body: str, status: int = 200, head: str = "") -> HTMLResponse:
    response = HTMLResponse(_PAGE.format(title=title, body=body, head=head), status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def login_page(error: str = "", username: str = "", status: int = 200) -> HTMLResponse:
    err = f'<p class="err" role="alert">{html.escape(error)}</p>' if error else ""
    form = _LOGIN_FORM.format(error=err, username=html.escape(username[:80]))
    return _page("Log in", form, status, head=app_preloads())


def same_origin(request: Request) -> bool:
    """True when the request's Origin (or, without one, its Referer) is this app's own origin."""
    host = request.headers.get("host", "")
    claimed = request.headers.get("origin")
    if claimed is None or claimed == "null":
        referer = request.headers.get("referer")
        if not referer:
            return False
        parts = urlsplit(referer)
        claimed = f"{parts.scheme}://{parts.netloc}"
    parts = urlsplit(claimed)
    return bool(host) and parts.netloc == host and parts.scheme in ("http", "https")


def _cross_origin() -> Response:
    return PlainTextResponse(
        "Refused: this form was not sent from annotate's own pages. Open annotate and try again.", status_code=403
    )


class _Outcome:
    def __init__(self, token: str = "", error: str = "", delay: float = 0.0) -> None:
        self.token, self.error, self.delay = token, error, delay


def _login(username: str, password: str, client: str, code: str = "") -> _Outcome:
    settings = get_settings()
    with unit_of_work(settings) as session:
        try:
            token, _actor = accounts.login(session, username, password, client=client, settings=settings, code=code)
        except accounts.LoginRefused as exc:
            return _Outcome(error=str(exc), delay=exc.delay)  # committed: the failure counts stay
    return _Outcome(token=token)


async def _form(request: Request) -> dict[str, str] | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


async def login(request: Request) -> Response:
    if request.method == "GET":
        return login_page()
    if not same_origin(request):
        return _cross_origin()
    form = await _form(request)
    if form is None:
        return login_page("The form was too large.", status=413)
    username, password = form.get("username", ""), form.get("password", "")
    client = request.client.host if request.client else ""
    outcome = await run_in_threadpool(_login, username, password, client, form.get("code", "")[:40])
    if not outcome.token:
        await asyncio.sleep(outcome.delay)  # the growing delay; other requests go on meanwhile
        known_safe = username if accounts.USERNAME_RE.match(username.strip().lower()) else ""
        return login_page(outcome.error, known_safe, status=401)
    settings = get_settings()
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        outcome.token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="strict",
        path="/",
        secure=request.url.scheme == "https",
    )
    return response


def _logout(token: str | None) -> None:
    with unit_of_work(get_settings()) as session:
        accounts.logout(session, token)


async def logout(request: Request) -> Response:
    if request.method == "GET":
        return _page("Log out", _LOGOUT_FORM)
    if not same_origin(request):
        return _cross_origin()
    await run_in_threadpool(_logout, request.cookies.get(COOKIE))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _session_live(token: str | None, *, may_act: bool) -> bool:
    with unit_of_work(get_settings()) as session:
        if may_act:
            return accounts.resolve_session(session, token) is not None
        return accounts.resolve_login(session, token) is not None


class AuthGate:
    """Security headers on every response; page loads without a live login go to the login form;
    Streamlit's media files (downloads) are refused without a live login that may act."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = security_headers(path)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    headers[name] = value
            await send(message)

        request = Request(scope)
        token = request.cookies.get(COOKIE)
        if path.startswith(_LOGIN_REQUIRED_PREFIXES):
            if not await run_in_threadpool(_session_live, token, may_act=True):
                await PlainTextResponse(
                    "Your session has ended: log in again to download.",
                    status_code=403,
                    headers={"Cache-Control": "no-store"},
                )(scope, receive, send_with_headers)
                return
        elif (
            scope["method"] == "GET"
            and not path.startswith(_OPEN_PREFIXES)
            and not await run_in_threadpool(_session_live, token, may_act=False)
        ):
            await RedirectResponse(LOGIN_PATH, status_code=303)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
