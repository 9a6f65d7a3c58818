"""``/api/media/<code>``: Range-capable streaming of a film's browser copy with a signed URL.

Streamlit must never hold films in memory (``st.video`` reads the whole file); the browser's
``<video>`` streams the proxy from disk through this route with HTTP Range instead. A ``<video>``
element cannot send headers, so the URL carries an opaque signed token (no user id, no database
id); the request must also carry the login-session cookie of the user the token was issued to
(so links die at logout and do not work for anyone else), and who may watch the film is checked
again on every request.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from annotate.config import get_settings
from annotate.services import accounts, films
from annotate.services.errors import NotFound, PermissionDenied
from annotate.services.session import unit_of_work
from annotate.store import open_store
from annotate.web.auth import COOKIE
from annotate.web.streaming import stream_key

_INVALID = "This film link is invalid or has expired, or you are logged out; reload the page (log in again)."


def _media(request: Request) -> Response:
    settings = get_settings()
    code = request.path_params["code"]
    with unit_of_work(settings) as session:
        try:
            # 404 first: an unknown film is unknown whoever asks.
            films.proxy_for(session, code, -1)
        except NotFound:
            return PlainTextResponse("No such film.", status_code=404)
        except PermissionDenied:
            pass
        actor = accounts.resolve_session(session, request.cookies.get(COOKIE))
        if actor is None or actor.user_id is None:
            return PlainTextResponse(_INVALID, status_code=403)
        grant = films.verify_media_token(settings.secret_key(), code, actor.user_id, request.query_params.get("t", ""))
        if grant is None:
            return PlainTextResponse(_INVALID, status_code=403)
        try:
            key = films.proxy_for(session, code, grant.user_id)
        except PermissionDenied as exc:
            return PlainTextResponse(str(exc), status_code=403)
        except NotFound as exc:
            return PlainTextResponse(str(exc), status_code=404)
    # The bytes come from the media store (a folder or S3 with ranged GETs), unchanged; no
    # filename and no Last-Modified (the ingest date would reveal the time point): see streaming.
    return stream_key(open_store(settings), key, request.headers.get("range"), f"The browser copy of film {code}")


async def media(request: Request) -> Response:
    return await run_in_threadpool(_media, request)
