"""Exceptions raised by the media layer.

Messages are shown to researchers as they are, so each one says what is wrong with
the film and what to do about it. No formulas are involved in this module.
"""

from __future__ import annotations

from annotate.errors import AnnotateError


class MediaError(AnnotateError):
    """A media operation failed; the message says what is wrong and what to do.

    Examples
    --------
    >>> str(MediaError("The output folder does not exist."))
    'The output folder does not exist.'
    """


class UnreadableMediaError(MediaError):
    """The file cannot be used as a film; the message gives the reason.

    Examples
    --------
    >>> issubclass(UnreadableMediaError, MediaError)
    True
    """
