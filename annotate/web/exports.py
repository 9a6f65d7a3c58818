"""``/api/export`` and ``/api/job-file/<id>``: exports and the files of finished jobs (large exports,
session packages) as downloads served by the web server, not by the page.

Why a route: a Streamlit download button holds the whole file in the server's media store for
the session (176 MB for the ratings CSV of a million ratings, more for several clicks). Here the
ratings CSV and the history CSV stream: the service writes into a bounded queue from a worker
thread (its own unit of work) while the response sends what is written, so the server holds about
a megabyte whatever the study's size. The other formats are built as bytes by the same service the
command line uses and sent at once. Who may download is decided by the services on every request,
from the login-session cookie (the page's link carries no credential): the same rules and the same
audit entry as the command line.

An error before the first byte is an HTTP error with the service's message; an error after it
breaks the connection, so the browser reports a failed download instead of keeping a short file.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from annotate.config import get_settings
from annotate.errors import AnnotateError
from annotate.services import accounts, exchange, jobs
from annotate.services.actor import Actor
from annotate.services.errors import NotFound, PermissionDenied
from annotate.services.session import unit_of_work
from annotate.store import open_store
from annotate.web.auth import COOKIE
from annotate.web.streaming import stream_key

CHUNK_CHARS = 1 << 20
QUEUE_CHUNKS = 4
# A reader that takes nothing for this long has gone (tab closed): the writer stops, nothing is kept.
STALL_SECONDS = 120.0
STREAMED = {"csv": ("ratings", exchange.write_ratings_csv), "history": ("history", exchange.write_history_csv)}
_END = object()


def _disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _status(exc: AnnotateError) -> int:
    return 403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound) else 400


class _Abandoned(Exception):
    """The download's reader went away."""


class _QueueWriter:
    """A text stream whose writes go to a bounded queue as UTF-8 chunks (the first write at once)."""

    def __init__(self, chunks: queue.Queue, gone: threading.Event) -> None:
        self._chunks, self._gone = chunks, gone
        self._parts: list[str] = []
        self._size = 0
        self._sent_first = False

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= CHUNK_CHARS or not self._sent_first:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if not self._parts:
            return
        data = "".join(self._parts).encode("utf-8")
        self._parts, self._size, self._sent_first = [], 0, True
        self.put(data)

    def put(self, item: object) -> None:
        waited = 0.0
        while True:
            if self._gone.is_set():
                raise _Abandoned
            try:
                self._chunks.put(item, timeout=1.0)
                return
            except queue.Full:
                waited += 1.0
                if waited >= STALL_SECONDS:
                    self._gone.set()


def _stream(actor: Actor, writer: Callable[..., object], study: str, mode: str) -> Iterator[object]:
    """Run ``writer`` in a thread; yield its chunks, then ``_END`` (or the exception it raised)."""
    chunks: queue.Queue = queue.Queue(maxsize=QUEUE_CHUNKS)
    gone = threading.Event()
    out = _QueueWriter(chunks, gone)

    def produce() -> None:
        try:
            with unit_of_work(get_settings()) as session:
                writer(session, actor, study, out, mode)
                out.flush()
            out.put(_END)  # after the commit: the audit entry is kept before the file is complete
        except _Abandoned:
            pass
        except Exception as exc:  # handed to the reader, which answers or breaks the connection
            with contextlib.suppress(_Abandoned):
                out.put(exc)

    threading.Thread(target=produce, name="export-stream", daemon=True).start()
    try:
        while True:
            item = chunks.get()
            yield item
            if item is _END or isinstance(item, BaseException):
                return
    finally:
        gone.set()


def _body(first: bytes, rest: Iterator[object]) -> Iterator[bytes]:
    yield first
    for item in rest:
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item  # mid-stream: the connection breaks; the file is not complete
        yield item  # type: ignore[misc]


def _actor(request: Request) -> Actor | None:
    with unit_of_work(get_settings()) as session:
        actor = accounts.resolve_session(session, request.cookies.get(COOKIE))
    return actor if actor is not None and actor.user_id is not None else None


def _export(request: Request) -> Response:
    actor = _actor(request)
    if actor is None:
        return PlainTextResponse("You are logged out: log in again, then download.", status_code=403)
    q = request.query_params
    study, fmt, mode = q.get("study", ""), q.get("format", ""), q.get("mode", "auto")
    if fmt in STREAMED:
        stem, writer = STREAMED[fmt]
        items = _stream(actor, writer, study, mode)
        first = next(items)
        if isinstance(first, AnnotateError):
            return PlainTextResponse(str(first), status_code=_status(first))
        if isinstance(first, BaseException):
            raise first
        if first is _END:  # pragma: no cover - a CSV always has its header line
            first = b""
        # The mode the file holds is in its own rows; the name says the one asked for.
        name = f"{study}_{mode}_{stem}.csv"
        return StreamingResponse(
            _body(first, items),  # type: ignore[arg-type]
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": _disposition(name), "Cache-Control": "no-store"},
        )
    try:
        with unit_of_work(get_settings()) as session:
            f = exchange.export_file(
                session, actor, study, fmt, mode, table=q.get("table") or None, analysis_set=q.get("set", "itt")
            )
    except AnnotateError as exc:
        return PlainTextResponse(str(exc), status_code=_status(exc))
    return Response(
        f.data,
        media_type=f.mime,
        headers={"Content-Disposition": _disposition(f.filename), "Cache-Control": "no-store"},
    )


def _job_file(request: Request) -> Response:
    settings = get_settings()
    actor = _actor(request)
    if actor is None:
        return PlainTextResponse("You are logged out: log in again, then download.", status_code=403)
    job_id = request.path_params["job_id"]
    try:
        with unit_of_work(settings) as session:
            f = jobs.job_file(session, actor, job_id)
    except AnnotateError as exc:
        return PlainTextResponse(str(exc), status_code=_status(exc))
    return stream_key(
        open_store(settings),
        f.key,
        request.headers.get("range"),
        f"The file of job {f.job_id}",
        media_type=f.mime,
        headers={"Content-Disposition": _disposition(f.name), "Cache-Control": "no-store"},
    )


async def job_file(request: Request) -> Response:
    """``/api/job-file/<id>``: the file a finished job made, for the account that asked."""
    return await run_in_threadpool(_job_file, request)


async def export(request: Request) -> Response:
    return await run_in_threadpool(_export, request)


__all__ = ["export", "job_file"]
