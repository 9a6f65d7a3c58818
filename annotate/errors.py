"""The one error family of annotate: every error a user can cause or meet derives from here.

Pages (``annotate.ui.common.call``), the command line and the web routes catch
:class:`AnnotateError` and show its message, which always says what to fix. Anything else is a
bug: it reaches the server log with its traceback.

The family, from the lowest layer up (each layer raises only its own kind or a subclass):

* :class:`InputError` — data handed to a pure function (statistics, scheme YAML, media files)
  cannot be used as it is. Also a ``ValueError``, so numeric code that expects one keeps working.
* ``annotate.media.MediaError`` — a film cannot be read, cut or written.
* ``annotate.services.errors.ServiceError`` and its kinds (permission, not found, conflict, ...)
  — a request that cannot be carried out.

This module is at the bottom of the layers (it imports nothing of annotate), so ``stats``,
``media`` and ``schemes`` can use it.
"""

from __future__ import annotations


class AnnotateError(Exception):
    """Base of every error whose message is meant for the user."""


class InputError(AnnotateError, ValueError):
    """Input to a pure computation cannot be used; the message names the row, field or file."""
