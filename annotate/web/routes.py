"""The routes mounted into the Streamlit app (see ``app.py``): everything under ``/api``.

Routes must not start with ``/_stcore/``, ``/media/``, ``/component/`` or ``/static/`` (Streamlit's own).
"""

from __future__ import annotations

from starlette.routing import Route

from annotate.services.exchange import EXPORT_PATH
from annotate.web.auth import COOKIE, LOGIN_PATH, LOGOUT_PATH, AuthGate, login, logout
from annotate.web.exports import export, job_file
from annotate.web.media import media

ROUTES = [
    Route("/api/media/{code}", media, methods=["GET", "HEAD"]),
    Route(EXPORT_PATH, export, methods=["GET"]),  # downloads stream from here, not from the page
    Route("/api/job-file/{job_id:int}", job_file, methods=["GET"]),
    Route(LOGIN_PATH, login, methods=["GET", "POST"]),
    Route(LOGOUT_PATH, logout, methods=["GET", "POST"]),  # GET shows a button; only the POST logs out
]

__all__ = ["COOKIE", "LOGIN_PATH", "ROUTES", "AuthGate"]
