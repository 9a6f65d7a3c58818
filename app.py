"""Launcher: `streamlit run app.py` (what `annotate serve` and `make run` do).

Films are streamed by the /api/media route with HTTP Range, never through st.video.
"""

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from annotate.logs import configure_logging
from annotate.ui import warm
from annotate.web.routes import ROUTES, AuthGate

configure_logging()
warm.start()  # imports and database in the background: the first login is not a cold start

app = st.App(
    Path(__file__).resolve().parent / "annotate" / "ui" / "main.py",
    routes=ROUTES,
    middleware=[Middleware(AuthGate)],
)
