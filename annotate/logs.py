"""Logging for the person running the server: one configuration for the app, workers and the CLI.

Modules log with ``logging.getLogger(__name__)`` (the ``annotate`` hierarchy). What an operator must
see — a film that failed to ingest, a clip package that could not be written, an unexpected error
behind a page — is logged with its traceback and the film's *blind code*, never a participant id,
a file name or a person's name (logs are read by people who may be blind to allocation).

The level comes from ``ANNOTATE_LOG_LEVEL`` (default ``INFO`` for the server, ``WARNING`` for the
command line, which prints its own results).
"""

from __future__ import annotations

import logging
import os
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER_NAME = "annotate-stderr"


def configure_logging(default_level: int = logging.INFO) -> logging.Logger:
    """Send the ``annotate`` loggers to standard error once per process (idempotent).

    Examples
    --------
    >>> configure_logging(logging.WARNING).name
    'annotate'
    """
    logger = logging.getLogger("annotate")
    raw = os.environ.get("ANNOTATE_LOG_LEVEL", "").strip().upper()
    level = logging.getLevelName(raw) if raw else default_level
    logger.setLevel(level if isinstance(level, int) else default_level)
    if not any(h.get_name() == _HANDLER_NAME for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
        logger.propagate = False
    return logger
