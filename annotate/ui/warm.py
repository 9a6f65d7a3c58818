"""Warm the server at start, so the first login does not pay for every import and the database.

``streamlit run`` imports the page modules (and with them pandas, altair, scipy, statsmodels,
the statistics and report builders) only when the first browser runs the entry script: 8.9 s
on the first login. ``start()`` (what app.py does) does that work in a background thread while
the server comes up; ``start(wait=True)`` does it before the port opens (measured: the server
opens 3 s later and the first login is no faster, so app.py does not wait).
"""

from __future__ import annotations

import importlib
import logging
import threading
import time

log = logging.getLogger(__name__)

MODULES = (
    "annotate.ui.common",
    "annotate.ui.pages_admin",
    "annotate.ui.pages_clinician",
    "annotate.ui.pages_data",
    "annotate.ui.pages_rater",
    "annotate.ui.pages_reliability",
    "annotate.ui.pages_researcher",
    "annotate.ui.pages_summaries",
    "annotate.ui.pages_timing",
    "annotate.ui.pages_trial",
    "annotate.ui.event_coding",
    "annotate.ui.player",
    "annotate.services.exchange",
    "annotate.services.outcomes",
    "annotate.services.reliability",
    "annotate.services.clips",
    "annotate.services.events",
    "altair",
    "vl_convert",
)


def warm_up() -> float:
    """Import what the pages need and open (migrate) the database; returns the seconds taken."""
    start = time.perf_counter()
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional extra not installed: the page that needs it says so
            log.info("warm-up: %s is not installed", name)
    from annotate.services.session import unit_of_work
    from annotate.ui.common import settings

    with unit_of_work(settings()):
        pass
    return time.perf_counter() - start


def _run() -> None:
    try:
        log.info("warm-up done in %.1f s", warm_up())
    except Exception:  # the server still works cold; say why it is not warm
        log.exception("warm-up failed")


_started = threading.Event()


def start(wait: bool = False) -> None:
    """Warm up once per process (the launcher may be imported more than once).

    ``wait=True`` does it before returning, so the server opens its port warm; otherwise in a
    background thread.
    """
    if _started.is_set():
        return
    _started.set()
    if wait:
        _run()
    else:
        threading.Thread(target=_run, name="annotate-warm-up", daemon=True).start()
